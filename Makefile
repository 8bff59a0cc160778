# Two commands set everything up: `make run` and `make test`. The virtual environment is
# created once and reused; it is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export EGOV_DATA_DIR ?= $(CURDIR)/data

.PHONY: install manifest postgres redis chromium run test serve docs ui cluster cluster-stop bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Dagster reads the dbt manifest when it loads the code location: build it first.
manifest: $(STAMP)
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .

run: manifest
	$(BIN)/python -m pipelines run --days 7

# The production-instance test starts a throwaway PostgreSQL: Debian's package, installed once
# where no initdb is found (as root in CI; through sudo elsewhere).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql)

# The cluster (its test too) uses Redis as Celery's broker: Debian's redis-server, installed where missing.
redis:
	@command -v redis-server >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server)

# The catalogue-page tests drive Debian's Chromium through Playwright: installed where missing.
chromium:
	@test -x /usr/bin/chromium || \
	  ($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test: manifest postgres redis chromium
	$(BIN)/python -m pytest

# The open-data releases, their catalogue page and the query API (/api/) at http://127.0.0.1:8000
# (HOST=0.0.0.0 to share).
serve: $(STAMP)
	$(BIN)/python -m pipelines.serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8000)

# dbt's docs (models, columns, tests, lineage) into <data dir>/dbt/docs: index.html with its
# manifest and catalog, and static_index.html (one file). `python -m pipelines.serve docs`
# serves them at http://127.0.0.1:3001/dbt-docs/ beside the Data Docs (/data-docs/).
docs: manifest
	cd dbt_project && ../$(BIN)/dbt docs generate --static --quiet --profiles-dir . --target-path $(EGOV_DATA_DIR)/dbt/docs

ui: manifest
	$(BIN)/python -m pipelines ui

# PostgreSQL, Redis, WORKERS Celery workers, the daemon and the UI (http://127.0.0.1:3000) on
# loopback, with the simulator as the agencies; Ctrl-C or `make cluster-stop` stops them all.
WORKERS ?= 2
cluster: manifest postgres redis
	$(BIN)/python -m pipelines cluster --workers $(WORKERS)

cluster-stop: $(STAMP)
	$(BIN)/python -m pipelines cluster-stop

# The benchmarks' own packages (dlt, matplotlib, psutil, pyinstrument) are not in `dev`.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

bench: manifest $(VENV)/.bench-installed
	$(BIN)/python -m bench

clean:
	rm -rf data dbt_project/target dbt_project/logs
