# make run: serve on http://127.0.0.1:8000 with an embedded PostgreSQL (unless DATABASE_URL is set)
# make test: the whole suite against real PostgreSQL, browser tests included (installs chromium if missing)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the browser tests drive Debian's Chromium; a fresh machine gets it from apt, as .ci/run does
CHROMIUM := $(or $(CHROMIUM_PATH),$(shell command -v chromium 2>/dev/null))
SUDO := $(if $(filter 0,$(shell id -u 2>/dev/null)),,sudo)

.PHONY: run test lint format bench migrate clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/maker-checker serve

migrate: $(STAMP)
	$(BIN)/maker-checker migrate

test: $(STAMP) chromium
	$(BIN)/python -m pytest

chromium:
ifeq ($(CHROMIUM),)
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
endif

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# make bench: the app under load against pgbench's ceiling (BENCH_QUICK=1 for a one-minute run)
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
