# Two commands: `make run` (serve the app with demo data) and `make test` (every test, both databases).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: fuzz run test lint migrate demo bench clean test-sqlite test-postgres browser-deps java-deps pdf-deps

$(VENV)/.runtime: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(PY) -m pip install -q -r requirements-dev.lock
	@touch $@

migrate: $(VENV)/.runtime
	$(PY) -m app.cli migrate

demo: migrate
	$(PY) -m app.cli demo --if-empty

run: pdf-deps demo
	$(VENV)/bin/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check app tests bench migrations/env.py
	$(VENV)/bin/mypy app tests bench

# Debian's Chromium for the browser tests (Playwright cannot download browsers here); MCQA_CHROMIUM overrides.
browser-deps:
	@scripts/ensure-package.sh "$${MCQA_CHROMIUM:-/usr/bin/chromium}" chromium "the browser tests"

# The libraries WeasyPrint (pinned in requirements.lock) needs to make the PDF reports, and a font to print with.
LIBDIR := /usr/lib/$(shell uname -m)-linux-gnu
pdf-deps:
	@scripts/ensure-package.sh $(LIBDIR)/libpango-1.0.so.0 libpango-1.0-0 "the PDF reports"
	@scripts/ensure-package.sh $(LIBDIR)/libpangoft2-1.0.so.0 libpangoft2-1.0-0 "the PDF reports"
	@scripts/ensure-package.sh $(LIBDIR)/libharfbuzz-subset.so.0 libharfbuzz-subset0 "the PDF reports"
	@scripts/ensure-package.sh /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core "the PDF reports"

# Java for the W3C HTML checker (vnu.jar, pinned in requirements-dev.lock) that checks every page.
java-deps:
	@scripts/ensure-package.sh java default-jre-headless "the W3C HTML check of every page"

# Every test on SQLite (browser tests included), then every non-browser test on a real PostgreSQL:
# TEST_DATABASE_URL when given, otherwise a throwaway cluster started and removed by scripts/with-postgres.sh.
test: $(VENV)/.dev browser-deps java-deps pdf-deps lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(VENV)/.dev pdf-deps
	TEST_DATABASE_URL= $(PY) -m pytest

# A longer schemathesis run over every API operation than the few examples per operation in `make test`.
fuzz: $(VENV)/.dev
	TEST_DATABASE_URL= MCQA_FUZZ_EXAMPLES=$${MCQA_FUZZ_EXAMPLES:-200} $(PY) -m pytest -q tests/test_fuzz_api.py

test-postgres: $(VENV)/.dev pdf-deps
	scripts/with-postgres.sh $(PY) -m pytest -m "not browser"

bench: $(VENV)/.dev
	@scripts/ensure-package.sh wrk wrk "the HTTP load of the benchmarks"
	scripts/with-postgres.sh $(PY) -m bench.run

clean:
	rm -rf $(VENV) var/*.db var/pg* .mypy_cache .ruff_cache
