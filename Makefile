# ego_reasoner_ros: two commands do everything on a fresh machine.
#   make demo   run the main job on the embedded simulator
#   make test   run the test suite
# Both create (or reuse) the virtual environment in .venv first.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Where to get the CPU build of torch on machines whose pip does not find it already
# (for example TORCH_INDEX=https://download.pytorch.org/whl/cpu).
TORCH_INDEX ?=
TORCH_INDEX_ARG := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)
# The reasoner's policy in `make demo`: the shipped learned model (greedy decoding); the
# scripted expert is `make demo POLICY=expert`.
POLICY ?= hf:models/ego-reasoner-tiny
STAMP := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt setup.py | sha256sum | cut -c1-16)

.PHONY: venv demo test lint bench clean-venv

venv: $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_INDEX_ARG) torch==2.13.0
	$(PIP) install --quiet $(TORCH_INDEX_ARG) -c constraints.txt -r requirements.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(VENV)/bin/ego-reasoner launch sim --record --policy $(POLICY)

test: venv
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script; done

clean-venv:
	rm -rf $(VENV)
