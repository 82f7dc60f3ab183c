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

# The demo prints only real measurements of a genuinely trained network (the shipped All-CNN-C,
# 82.8 % on CIFAR-10 test), on real CIFAR-10 images shipped with the package: about a minute.
demo: $(VENV)/.installed
	@echo "== 1/2  One-pixel instability (Azulay & Weiss 2019) of the shipped CIFAR-10 model and its anti-aliased twins" >&2
	@echo "   P(top-1 change): how often moving the image by one pixel changes the predicted class; lower is more stable." >&2
	@echo "   Further: kerasinv recipe azulay-onepixel --preset quick --data-dir CIFAR10 (1,000 test images)" >&2
	$(BIN)/kerasinv recipe azulay-onepixel --preset smoke --output runs/demo-onepixel --overwrite --quiet
	@echo "== 2/2  Shift consistency (Zhang 2019) of the same model on 200 sample images" >&2
	@echo "   consistency: how often two random shifts of an image get the same class; higher is more invariant." >&2
	@echo "   Further: kerasinv evaluate MODEL --images PHOTOS  (any .keras file or SavedModel)" >&2
	$(BIN)/kerasinv evaluate shipped --images cifar10-sample \
		--protocols crop,shift --limit 200 --output runs/demo-evaluate --overwrite

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kerasinv tests benchmarks examples
	$(BIN)/ruff format --check kerasinv tests benchmarks examples

format: $(VENV)/.installed-test
	$(BIN)/ruff format kerasinv tests benchmarks examples
	$(BIN)/ruff check --fix kerasinv tests benchmarks examples

# Two workers, one test file each at a time (module fixtures run once): 2 cores stay busy while
# one worker waits on a subprocess or on Python.
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/antialias_overhead.py
	$(BIN)/python benchmarks/perturb_throughput.py
	$(BIN)/python benchmarks/eval_overhead.py

clean:
	rm -rf runs build dist .pytest_cache
