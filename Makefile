# Two commands do all set-up on a fresh machine with Python 3.11 and make:
#   make run    creates .venv, installs, builds the demo province in ./ledger-data once, serves :8000
#   make test   creates .venv, installs, runs ruff, mypy and the whole test suite (2 workers)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= ledger-data

.PHONY: install run test lint unit integration e2e bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The first run builds the demo province into $(DATA_DIR) (about 20 s); later runs serve it.
run: $(STAMP)
	@[ -f $(DATA_DIR)/log.key ] || $(BIN)/ledgerctl demo --data-dir $(DATA_DIR)
	$(BIN)/ledgerctl serve --data-dir $(DATA_DIR) --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two workers: the suite is I/O- and process-bound, and parallel runs shake out races.
test: lint
	$(BIN)/pytest -n 2

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

# Not part of the tests: measures ingestion, rebuild, audit and reads beside their
# baselines on this machine and writes bench/results/ (see bench/README.md).
bench: $(STAMP)
	$(BIN)/ledgerctl bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
