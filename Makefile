# harness: `make bench` runs the embedded default (or MODEL=...), `make test` the test suite.
# Both create and reuse a local virtual environment; nothing is installed globally.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HARNESS := $(VENV)/bin/harness
CORE_STAMP := $(VENV)/.core-installed
FULL_STAMP := $(VENV)/.full-installed
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Install output goes to a log (shown only when the install fails).
INSTALL_LOG := $(VENV)/install.log
# OmniSQL's value retrieval (the version OmniSQL's README pins; it runs on Java 11+).
PYSERINI := pyserini==0.22.1

RUNS ?= runs
FIXTURE_PREDS := evals/predictions
LEADERBOARD_DIR ?= leaderboard
GATE_PP ?= 3

.PHONY: bench test lint fixture-bench fixture-score leaderboard clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(CORE_STAMP): pyproject.toml | $(PY)
	@echo "installing harness into $(VENV) (log: $(INSTALL_LOG))"
	@$(PIP) -e . > $(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); exit 1; }
	@touch $@

# Tests also need the model (CPU torch), API, Ray and OmniSQL-retrieval extras, and the
# dev tools. pyserini goes in without its declared dependencies: those serve its dense
# retrieval (faiss, onnxruntime, spacy, nmslib); the BM25 index needs only the Anserini jar
# it ships, pyjnius and a JDK (.ci/run installs openjdk-17).
$(FULL_STAMP): pyproject.toml $(CORE_STAMP)
	@echo "installing test dependencies (CPU torch, transformers, peft, API SDKs, Ray, pyserini, dev tools)"
	@$(PIP) -e '.[dev,hf,api,official,ray,omnisql]' >> $(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); exit 1; }
	@$(PIP) --no-deps $(PYSERINI) >> $(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); exit 1; }
	@touch $@

ifeq ($(strip $(MODEL)),)
bench: fixture-bench
else
# A dry run prints the command and installs nothing.
bench: $(if $(DRY_RUN),,$(CORE_STAMP))
	@MODEL='$(MODEL)' BENCH='$(BENCH)' ADAPTER='$(ADAPTER)' RUNNER='$(RUNNER)' \
	  DATA_DIR='$(DATA_DIR)' ARGS='$(ARGS)' DRY_RUN='$(DRY_RUN)' HARNESS='$(HARNESS)' \
	  bash docker/bench.sh
endif

# The embedded default, offline in seconds: replay the committed fixture predictions of a
# baseline and a candidate (the `replay:` backend treats a predictions file as a model;
# their run folders are rebuilt from scratch each time, as they derive from committed files),
# score them, build their leaderboard (markdown, JSON, plot), and gate the candidate
# against the baseline (paired, question by question).
fixture-score: $(CORE_STAMP)
	@for name in baseline candidate; do \
	  echo "== fixture: $$name"; \
	  rm -rf $(RUNS)/fixture-$$name; \
	  $(HARNESS) bench --model replay:$(FIXTURE_PREDS)/$$name.jsonl --bench fixture \
	    --out $(RUNS)/fixture-$$name --no-progress || exit $$?; \
	  echo; \
	done

fixture-bench: fixture-score
	@echo "== leaderboard ($(RUNS)/leaderboard)"
	@$(HARNESS) leaderboard $(RUNS)/fixture-baseline $(RUNS)/fixture-candidate \
	  --out $(RUNS)/leaderboard
	@echo
	@echo "== this run (head) vs the committed leaderboard (base): each config against its"
	@echo "   committed self (a fixture replay should not move), then the gate: this run's"
	@echo "   candidate vs the committed baseline (+$(GATE_PP) pp with a paired CI above 0)"
	@base=$(LEADERBOARD_DIR)/leaderboard.json; [ -f "$$base" ] || base=$(RUNS)/leaderboard/leaderboard.json; \
	  $(HARNESS) diff "$$base" $(RUNS)/leaderboard/leaderboard.json \
	  --baseline fixture-baseline --candidate fixture-candidate --gate $(GATE_PP)
	@echo
	@echo "== gates (evals/gates.toml: every condition must hold to ship)"
	@$(HARNESS) gate evals/gates.toml $(RUNS)/leaderboard/leaderboard.json

# The committed leaderboard that CI diffs pull requests against.
leaderboard: fixture-score
	$(HARNESS) leaderboard $(RUNS)/fixture-baseline $(RUNS)/fixture-candidate \
	  --out $(LEADERBOARD_DIR)

lint: $(FULL_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(FULL_STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

clean:
	rm -rf $(RUNS) .pytest_cache .ruff_cache
