# The README's two commands: `make run` (install + main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK_NOTE := \
	'\# The exact stack `make install` builds: Python 3.11, Linux x86_64, pip. Refresh: make lock' \
	'\# torch is the 2.13.0 CPU build (pip finds torch-2.13.0+cpu in its find-links, no CUDA' \
	'\# packages); highspy stays 1.15.1 (constraints.txt). CI checks the venv against this file.' \
	'\#'

.PHONY: install lock check-lock run test lint docs docs-serve bench clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# Every package at its locked version (torch is the 2.13.0 CPU build, so no CUDA wheels),
	# then the package itself without letting pip resolve anything else.
	$(PY) -m pip install -r requirements.lock
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Re-resolve requirements.lock from pyproject.toml (extras dev, optuna, docs) and constraints.txt
# with pip-tools, in a throwaway venv so the project's venv keeps exactly the lock.
lock:
	$(PYTHON) -m venv /tmp/ecocontrol-piptools
	/tmp/ecocontrol-piptools/bin/pip install -q pip-tools==7.6.2
	CUSTOM_COMPILE_COMMAND='make lock' /tmp/ecocontrol-piptools/bin/pip-compile --upgrade \
		--extra dev --extra optuna --extra docs -c constraints.txt --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	{ printf '%s\n' $(LOCK_NOTE); cat requirements.lock; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock

check-lock: install
	$(PY) .ci/check_lock.py

run: install
	$(PY) -m ecocontrol.cli benchmark --multirun experiment=main

test: install
	$(PY) -m pytest -q
	$(PY) -m pytest -q --nbmake notebooks

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml, docs/) into site/; --strict turns every warning (a broken
# link or cross-reference, a missing include, a docstring griffe cannot parse) into a failure;
# then every public class, function and method must be on a page of the API reference.
# The two variables silence the banners mkdocs-material and properdocs print on every build.
DOCS_ENV := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true
docs: install
	$(DOCS_ENV) $(VENV)/bin/mkdocs build --strict
	$(PY) .ci/check_api_docs.py

# The site at http://127.0.0.1:8000, rebuilt on every save.
docs-serve: install
	$(DOCS_ENV) $(VENV)/bin/mkdocs serve

bench: install
	$(PY) experiments/perf/run.py
	$(PY) experiments/bench_park.py
	$(PY) experiments/bench_plant.py --env hot_stove
	$(PY) experiments/bench_plant.py --env cement_kiln

clean:
	rm -rf $(VENV) outputs site .cache .pytest_cache .mypy_cache .ruff_cache
