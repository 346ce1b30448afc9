# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

export WAREHOUSE_PATH ?= $(CURDIR)/data/warehouse.duckdb
export LANDING_DIR ?= $(CURDIR)/data/landing
export ARTIFACTS_DIR ?= $(CURDIR)/data/artifacts
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
ACCOUNTS ?= 5000
SEED ?= 42
PERIODS ?= 6
PERIOD_DAYS ?= 30

.PHONY: install manifest sample-data run demo demo-retail simulate test test-fast ui docs bench lint clean config-init taxonomy

install: $(VENV)/.installed

# (Re)create the virtualenv whenever the pinned dependencies change.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# dagster-dbt reads the dbt manifest when the code location loads.
manifest: install
	cd dbt_project && $(CURDIR)/$(BIN)/dbt parse --quiet --profiles-dir .

sample-data: install
	$(PY) -m tools.sample_data --accounts $(ACCOUNTS) --seed $(SEED) --out $(LANDING_DIR)

# Materialize every asset over whatever LANDING_DIR holds (your own files or the sample data).
run: manifest
	$(PY) -m tools.run

# Two runs in the life of the platform: the initial history, then the next two 30-day
# periods (with planted migrations), so the report shows migration and the CSM tasks on entry.
DEMO_HISTORY ?= $(CURDIR)/data/history
demo: manifest
	$(PY) -m tools.sample_data --accounts $(ACCOUNTS) --seed $(SEED) --periods 2 --period-days $(PERIOD_DAYS) --out $(DEMO_HISTORY)
	$(PY) -m tools.run --drop $(DEMO_HISTORY)/period_00 --brief
	$(PY) -m tools.run --drop $(DEMO_HISTORY)/period_01 --drop $(DEMO_HISTORY)/period_02

# Its own warehouse, artifacts and embedded CRM/marketing files: the demo's CRM rows
# would otherwise count as this run's to replace, and the blast-radius guard would stop the sync.
demo-retail: manifest
	$(PY) -m tools.retail_adapter --out $(CURDIR)/data/retail_landing
	LANDING_DIR=$(CURDIR)/data/retail_landing WAREHOUSE_PATH=$(CURDIR)/data/retail.duckdb \
	  ARTIFACTS_DIR=$(CURDIR)/data/retail_artifacts ACTIVATION_DIR=$(CURDIR)/data/retail_activation \
	  $(PY) -m tools.run

# Every tier: unit (pure), integration (warehouse, dbt, Dagster, PostgreSQL), e2e (whole runs).
# Months of operation: a continuing history dropped period by period, one run each.
simulate: manifest
	$(PY) -m tools.simulate --accounts $(ACCOUNTS) --periods $(PERIODS) --period-days $(PERIOD_DAYS) --seed $(SEED)

test: manifest
	bash scripts/system_deps.sh
	$(BIN)/pytest -q

# The pure tier alone: the core and the tools, no warehouse, under a minute.
test-fast: install
	$(BIN)/pytest -q tests/unit

ui: manifest
	$(BIN)/dagster dev -w workspace.yaml

docs: manifest
	$(PY) -m tools.catalog_docs

# Raw event names the taxonomy does not map (after a run), with counts and a suggested canonical event.
taxonomy: install
	$(PY) -m tools.taxonomy unmapped

bench: manifest
	$(PY) -m tools.bench --accounts $(ACCOUNTS)

lint: install
	$(BIN)/ruff check orchestration ml_assets tools tests
	$(BIN)/sqlfluff lint dbt_project/models

# Start a configuration folder outside the checkout: copies of the default config files to edit.
# Then export SEGMENTATION_CONFIG_DIR=$(DIR); files you delete there fall back to the defaults.
config-init:
	@test -n "$(DIR)" || { echo "usage: make config-init DIR=/path/to/your/config"; exit 2; }
	mkdir -p "$(DIR)"
	for f in config/*.yaml config/*.csv; do test -e "$(DIR)/$$(basename $$f)" || cp "$$f" "$(DIR)/"; done
	@echo "Now: export SEGMENTATION_CONFIG_DIR=$(abspath $(DIR))"

clean:
	rm -rf data .dagster_home/storage .dagster_home/history .dagster_home/schedules dbt_project/target
