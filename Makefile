# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/kerasinv recipe springenberg-allcnn --preset smoke --output runs/demo --overwrite
	$(BIN)/kerasinv recipe azulay-onepixel --preset smoke --output runs/demo-onepixel --overwrite

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kerasinv tests benchmarks examples
	$(BIN)/ruff format --check kerasinv tests benchmarks examples

format: $(VENV)/.installed-test
	$(BIN)/ruff format kerasinv tests benchmarks examples
	$(BIN)/ruff check --fix kerasinv tests benchmarks examples

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/antialias_overhead.py
	$(BIN)/python benchmarks/perturb_throughput.py
	$(BIN)/python benchmarks/eval_overhead.py

clean:
	rm -rf runs build dist .pytest_cache
