# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv when needed and reinstall only when pyproject.toml or constraints.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test test-all lint bench data clean

demo: $(VENV)/.installed
	$(BIN)/dlcourse data fetch --offline
	$(BIN)/dlcourse tour

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

test-all: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m ''

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

data: $(VENV)/.installed
	$(BIN)/dlcourse data fetch --offline

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[all]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) build src/*.egg-info
