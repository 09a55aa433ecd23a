# One Click warehouse: set-up, build, train, test. `make help` lists targets.
# Every target installs what it needs into .venv first, so on a fresh machine
# with Python 3.11 and make, `make demo` and `make test` are all it takes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# dbt's generated files live under data/ like everything else generated.
export DBT_TARGET_PATH ?= data/dbt/target
export DBT_LOG_PATH ?= data/dbt/logs
export ONE_CLICK_RAW_DIR ?= data/raw
export ONE_CLICK_DUCKDB ?= data/warehouse/one_click.duckdb

REAL_RAW_DIR ?= ../shared/data/raw

.PHONY: help install install-spark demo warehouse train reports docs test test-spark lint format pytest real-data-checks bench bench-spark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with pinned versions

SPARK_STAMP := $(VENV)/.installed-spark-stamp

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,spark]"
	touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP)  ## add the optional Spark extra (dbt-spark, pyspark; needs Java 17)

demo: $(STAMP)  ## the main job end to end (synthetic sample data when $ONE_CLICK_RAW_DIR is empty)
	$(BIN)/python -m ml.pipeline demo

warehouse: $(STAMP)  ## dbt build: raw CSVs -> staging -> marts, with every data test
	$(BIN)/python -m ml.pipeline warehouse

train: $(STAMP)  ## python -m ml.train: model, ml.*, segments, publish, reports
	$(BIN)/python -m ml.train

reports: $(STAMP)  ## python -m reports.build from the published warehouse
	$(BIN)/python -m reports.build

bench: $(STAMP)  ## pipeline benchmark, 1 k to 1 M customers (bench/results/)
	$(BIN)/python bench/pipeline_bench.py --with-ml

docs: $(STAMP)  ## dbt docs generate from the published warehouse (then: .venv/bin/dbt docs serve)
	$(BIN)/dbt docs generate

test: lint pytest  ## linters and the whole test suite

lint: $(STAMP)  ## ruff, sqlfluff, import contracts, docs coverage
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/data-tests dbt_project/analyses
	$(BIN)/lint-imports  # the package layers of pyproject.toml [tool.importlinter]
	$(BIN)/python -m ml.docs.coverage  # every model, source and column described

format: $(STAMP)  ## apply ruff format and sqlfluff fix
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix dbt_project/models

pytest: $(STAMP)  ## the pytest suite (real-data tests run when ../shared/data/raw exists)
	$(BIN)/pytest

test-spark: $(SPARK_STAMP)  ## the spark tests: the project built on Spark equals DuckDB (Java 17)
	$(BIN)/pytest -m spark tests/test_spark.py

bench-spark: $(SPARK_STAMP)  ## DuckDB vs Spark build and scoring on one export (bench/results/spark.md)
	$(BIN)/python bench/spark_bench.py

# The real export through the data team's two plain commands (every dbt test,
# then model with the nested CV of the whole selection, segments, publish,
# reports), then the nested-CV quality target asserted by its own test.
REAL_ENV := ONE_CLICK_RAW_DIR=$(REAL_RAW_DIR) ONE_CLICK_DUCKDB=data/warehouse/real_export.duckdb \
	ONE_CLICK_REPORTS_DIR=data/reports/real_export ONE_CLICK_MODELS_DIR=data/models/real_export

real-data-checks: $(STAMP)  ## the real export: dbt build, ml.train --nested-cv, publish, reports, nested target
	$(REAL_ENV) $(BIN)/dbt build
	$(REAL_ENV) $(BIN)/python -m ml.train --nested-cv
	ONE_CLICK_REAL_NESTED_CV=1 $(BIN)/pytest tests/test_ml_real_data.py -k nested

clean:  ## remove generated files (keeps .venv and data/raw)
	rm -rf data/dbt data/warehouse/*.duckdb data/warehouse/*.wal data/warehouse/build/*.duckdb \
		data/warehouse/versions data/reports data/models data/sample data/spark target logs
