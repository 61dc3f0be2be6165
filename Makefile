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
# on a Flink cluster: its files are fetched once into .cache/flink; the report's in Debian's
# chromium; ML Metadata on throwaway servers of Debian's PostgreSQL and MariaDB). A pipeline run keeps about one
# core busy, so test files run TEST_WORKERS at a time (pytest-xdist; a file's tests on one worker,
# so they share its runs); the timed tests (marked `serial`) run after them, alone. Both parts
# always run; the target fails if either did.
TEST_WORKERS ?= 2
test: $(STAMP)
	.ci/ensure_debian_package.sh chromium chromium chromium-browser
	.ci/ensure_debian_package.sh mariadb-client-core mariadb
	.ci/ensure_debian_package.sh mariadb-server-core mariadb-install-db
	$(VENV)/bin/tfxpipe cluster fetch
	status=0; \
	$(VENV)/bin/python -m pytest tests -m "not serial" -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=40 || status=1; \
	$(VENV)/bin/python -m pytest tests -m serial --durations=10 || status=1; \
	exit $$status

# Unit tests only (no pipeline run): a quick local check, split like `test`.
test-fast: $(STAMP)
	status=0; \
	$(VENV)/bin/python -m pytest tests/unit -m "not serial" -n $(TEST_WORKERS) --dist loadfile || status=1; \
	$(VENV)/bin/python -m pytest tests/unit -m serial || status=1; \
	exit $$status

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
