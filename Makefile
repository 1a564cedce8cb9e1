# The two front-door commands:  `make demo`  and  `make test`.
# Both create (or reuse) the project's own virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.netloupe-installed
# torch/torchvision are pinned to the releases that the project's machines keep on disk (a pip
# constraint caps them there); any torch 2.x from 2.1 on works for the library itself.
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1

.PHONY: demo test check evaluate bench lint typecheck clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e ".[all,dev]"
	touch $@

demo: $(STAMP)  ## explain real photos with the default model and write one HTML report
	$(VENV)/bin/netloupe demo --out netloupe-demo

test: $(STAMP)  ## the default test suite (what CI runs)
	$(PY) -m pytest

evaluate: $(STAMP)  ## slow real-data tests and evaluations (need ../shared/data)
	$(PY) -m pytest -m slow

bench: $(STAMP)  ## netloupe vs pytorch-grad-cam, TorchCAM, Captum (CPU table under results/benchmarks)
	$(VENV)/bin/netloupe bench --models resnet50,efficientnet-lite0 --batches 1,8 --scorecam efficientnet-lite0 \
		--memory-batch 16 --repeats 15 --scorecam-repeats 3 --device cpu --out results/benchmarks

lint: $(STAMP)  ## ruff (pinned in the dev extra; CI runs it)
	$(VENV)/bin/ruff check src tests

typecheck: $(STAMP)  ## mypy over src/netloupe (pinned in the dev extra; CI runs it)
	$(VENV)/bin/mypy

check: lint typecheck test  ## everything CI gates on: lint, types, then the test suite

clean:
	rm -rf $(VENV) netloupe-demo .pytest_cache .mypy_cache .ruff_cache
