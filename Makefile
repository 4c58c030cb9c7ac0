# Wenda: `make run` installs everything and serves the bundled corpus; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-dev run index test lint typecheck format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: the CPU build on this disk, never a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,milvus]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/wenda index
	$(BIN)/wenda serve

index: install
	$(BIN)/wenda index

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# mypy cannot follow setuptools' editable finder, so it reads the folders through a tree of
# links laid out as the installed package (wenda.index -> index/, ...).
typecheck: install-dev
	mkdir -p $(VENV)/typeshim/wenda
	for p in index api bot; do ln -sfn $(CURDIR)/$$p $(VENV)/typeshim/wenda/$$p; done
	MYPYPATH=$(VENV)/typeshim $(BIN)/mypy -p wenda

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) typecheck
	$(BIN)/python -m pytest -q

bench: install-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf .wenda .pytest_cache .ruff_cache
