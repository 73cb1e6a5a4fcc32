# The README's two commands: `make run` (install + main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip setuptools wheel
	# torch first, pinned to the CPU build, so nothing pulls the CUDA wheels.
	$(PY) -m pip install -c constraints.txt torch==2.13.0
	$(PY) -m pip install -c constraints.txt -e '.[dev,optuna]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m ecocontrol.cli benchmark --multirun experiment=main

test: install
	$(PY) -m pytest -q
	$(PY) -m pytest -q --nbmake notebooks

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	$(PY) experiments/perf/run.py
	$(PY) experiments/bench_park.py
	$(PY) experiments/bench_plant.py --env hot_stove
	$(PY) experiments/bench_plant.py --env cement_kiln

clean:
	rm -rf $(VENV) outputs .pytest_cache .mypy_cache .ruff_cache
