# Bastion: `make run` sets everything up and scans the bundled sample; `make test` runs the checks.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bastion bank import examples/banks/sample-bank.json --create
	@mkdir -p out
	$(BIN)/bastion scan examples/sample-stream.jsonl --out out/sample-decisions.jsonl
	$(BIN)/bastion audit verify

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/throughput.py --posts 100000 --json reports/throughput.json --md reports/throughput.md

clean:
	rm -rf $(VENV) bastion.db bastion.db-wal bastion.db-shm out reports .pytest_cache .mypy_cache .ruff_cache
