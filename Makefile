# The two front-door commands:  `make demo`  and  `make test`.
# Both create (or reuse) the project's own virtual environment in .venv. `make demo` installs only what
# the demo needs (netloupe and its base dependencies); `make test` adds the extras, the dev tools and the
# peer libraries the tests compare against.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch/torchvision are pinned to the releases that the project's machines keep on disk (a pip
# constraint caps them there); any torch 2.x from 2.1 on works for the library itself.
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1
# Where torch comes from. Empty (the default): PyPI, whose Linux torch wheels bundle the CUDA libraries
# (several GB). On a machine without a GPU, the PyTorch project's CPU-only wheels are far smaller:
#     make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
# (that index serves torch, torchvision and their own dependencies; everything else still comes from PyPI).
TORCH_INDEX ?=
TORCH_STAMP := $(VENV)/.netloupe-torch
DEMO_STAMP := $(VENV)/.netloupe-demo
TEST_STAMP := $(VENV)/.netloupe-test

.PHONY: demo test check evaluate bench lint typecheck clean browser-deps

$(TORCH_STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH_PIN)
	touch $@

$(DEMO_STAMP): pyproject.toml $(TORCH_STAMP)  ## netloupe with its base dependencies only
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(DEMO_STAMP)  ## + every extra, dev tools (pytest, ruff, mypy) and peer libraries
	$(PY) -m pip install --quiet -e ".[all,dev]"
	touch $@

demo: $(DEMO_STAMP)  ## explain real photos with the default model and write one HTML report
	$(VENV)/bin/netloupe demo --out netloupe-demo

# The browser tests drive Debian's chromium: installed here with apt-get when running as root, else a loud
# note (pytest also ends with a banner when they were skipped).
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "!!! chromium is not installed: the browser tests will be SKIPPED." >&2; \
		echo "!!! install it with: sudo apt-get install chromium" >&2; \
	fi

test: $(TEST_STAMP) browser-deps  ## the default test suite (what CI runs)
	$(PY) -m pytest

evaluate: $(TEST_STAMP)  ## slow real-data tests and evaluations (need ../shared/data)
	$(PY) -m pytest -m slow

bench: $(TEST_STAMP)  ## netloupe vs pytorch-grad-cam, TorchCAM, Captum (CPU table under results/benchmarks)
	$(VENV)/bin/netloupe bench --models resnet50,efficientnet-lite0 --batches 1,8 --scorecam efficientnet-lite0 \
		--memory-batch 16 --repeats 15 --scorecam-repeats 3 --device cpu --out results/benchmarks

lint: $(TEST_STAMP)  ## ruff (pinned in the dev extra; CI runs it)
	$(VENV)/bin/ruff check src tests

typecheck: $(TEST_STAMP)  ## mypy over src/netloupe (pinned in the dev extra; CI runs it)
	$(VENV)/bin/mypy

check: lint typecheck test  ## everything CI gates on: lint, types, then the test suite

clean:
	rm -rf $(VENV) netloupe-demo .pytest_cache .mypy_cache .ruff_cache
