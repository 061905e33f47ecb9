# Everything runs from a local virtual environment that `make` creates on first
# use, so a fresh clone needs only Python 3.11.
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint format lab course clean

$(STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check .
	touch $(STAMP)

## make demo: build the course, grade a sample class, print the grade table
demo: $(STAMP)
	$(PY) -m autograder demo

## make test: lint and formatting, then the whole test suite
test: lint
	$(PY) -m pytest

## make lint: ruff's checks and the formatter's verdict (configured in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## make format: let ruff format the code and fix what it can
format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make test-fast: every test not marked slow, for the edit-test loop (make test before committing)
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

## make lab: open the notebooks in JupyterLab
lab: $(STAMP)
	cd notebooks && ../$(VENV)/bin/jupyter lab

## make course: build the nbgrader course into course/
course: $(STAMP)
	$(PY) -m autograder build

clean:
	rm -rf course build *.egg-info .pytest_cache
