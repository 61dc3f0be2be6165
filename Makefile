# The two commands of the README: `make run` (set up + run on the bundled data) and `make test`.
VENV ?= .venv
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test bench setup
setup: $(STAMP)
$(STAMP): requirements.lock setup.py bootstrap.sh
	./bootstrap.sh $(VENV)

run: $(STAMP)
	$(VENV)/bin/tfxpipe run $(ARGS)

test: $(STAMP)
	.ci/ensure_chromium.sh
	$(VENV)/bin/python -m pytest tests

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks.compare_with_tfx_example $(ARGS)
