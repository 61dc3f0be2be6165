# The two commands of the README: `make run` (set up + run on the bundled data) and `make test`.
VENV ?= .venv
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-fast bench bench-quality bench-drift bench-serving screenshots setup
setup: $(STAMP)
$(STAMP): requirements.lock setup.py bootstrap.sh
	./bootstrap.sh $(VENV)

run: $(STAMP)
	$(VENV)/bin/tfxpipe run $(ARGS)

# The whole suite, what CI runs: unit tests and end-to-end tests on real pipeline runs (one of them
# on a Flink cluster: its files are fetched once into .cache/flink).
test: $(STAMP)
	.ci/ensure_debian_package.sh chromium chromium chromium-browser
	$(VENV)/bin/tfxpipe cluster fetch
	$(VENV)/bin/python -m pytest tests --durations=40

# Unit tests only (no pipeline run): a quick local check.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest tests/unit

# A PNG beside every report page under work/reports (REPORTS=DIR for another folder).
screenshots:
	.ci/ensure_debian_package.sh chromium chromium chromium-browser
	.ci/screenshots.sh $(REPORTS)

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks.compare_with_tfx_example $(ARGS)

bench-quality: $(STAMP)
	$(VENV)/bin/python -m benchmarks.dataset_quality $(ARGS)

bench-drift: $(STAMP)
	$(VENV)/bin/python -m benchmarks.drift_matrix $(ARGS)

bench-serving: $(STAMP)
	.ci/ensure_debian_package.sh nghttp2-client h2load
	$(VENV)/bin/python -m benchmarks.serving_latency $(ARGS)
