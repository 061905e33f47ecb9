# Everything runs from a local virtual environment that `make` creates on first
# use, so a fresh clone needs only Python 3.11.
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-browser postgres lint format workspace lab formgrader check course clean

$(STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check .
	touch $(STAMP)

## make demo: build the course, grade a sample class, print the grade table
demo: $(STAMP)
	$(PY) -m autograder demo

## make test: lint and formatting, then the whole test suite
test: lint postgres
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
test-fast: $(STAMP) postgres
	$(PY) -m pytest -m "not slow"

## make postgres: Debian's PostgreSQL server, which the gradebook tests start in a temporary folder (autograder/qa/postgres.py)
# Installed on demand like chromium below (apt as root); nothing to do when initdb is there.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then echo "the tests need Debian's PostgreSQL server: sudo apt-get install -y postgresql" >&2; exit 2; fi; \
	  echo "installing Debian's PostgreSQL"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

## make workspace: your own copies of the notebooks in workspace/ (git ignores it); never overwrites your work
WORKSPACE ?= workspace
workspace:
	@mkdir -p $(WORKSPACE)
	@for nb in notebooks/*.ipynb; do [ -e "$(WORKSPACE)/$${nb##*/}" ] || cp "$$nb" "$(WORKSPACE)/"; done

# Both labs run as root too (a container's usual user); LAB_ARGS adds options (--no-browser --port=8899).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=

## make lab: JupyterLab on your workspace, student tools only (notebooks/lab_config); notebooks/ stay the course source
lab: $(STAMP) workspace
	cd $(WORKSPACE) && JUPYTER_CONFIG_PATH=$(CURDIR)/notebooks/lab_config PYTHONPATH=$(CURDIR)/notebooks \
	  $(CURDIR)/$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS)

## make formgrader: the instructor's JupyterLab on the built course (make course first): formgrader, source notebooks that run
COURSE ?= course
formgrader: $(STAMP)
	@test -f $(COURSE)/nbgrader_config.py || { echo "no course in $(COURSE)/: run make course first" >&2; exit 2; }
	cd $(COURSE) && PYTHONPATH=$(CURDIR):$(CURDIR)/notebooks $(CURDIR)/$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS)

## make check: grade your workspace (make check NB=02 for one notebook); from JupyterLab's terminal: make -C .. check
check: $(STAMP) workspace
	@$(PY) -m autograder check $(sort $(wildcard $(WORKSPACE)/$(NB)*.ipynb))

## make course: build the nbgrader course into course/
course: $(STAMP)
	$(PY) -m autograder build

clean:
	rm -rf course build *.egg-info .pytest_cache

## make test-browser: the learner's JupyterLab driven in headless Chromium (tests/browser; make test leaves them out)
# Playwright drives Debian's chromium: its own browser downloads are not reachable here. Installed
# on demand (apt as root; CI is root on a fresh machine), pinned like the rest of the toolchain.
CHROMIUM := /usr/bin/chromium
PLAYWRIGHT := playwright==1.65.2
test-browser: $(STAMP)
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" != 0 ]; then echo "make test-browser needs Debian's chromium: sudo apt-get install -y chromium" >&2; exit 2; fi; \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	$(PY) -m pip install --quiet --disable-pip-version-check $(PLAYWRIGHT)
	$(PY) -m pytest tests/browser
