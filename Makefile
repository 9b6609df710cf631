# Two commands on a fresh machine:
#   make run    set up, index the demo corpus on first run, open the chat app on http://127.0.0.1:7860
#   make test   set up (Python deps + Debian chromium for the browser tests) and run the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test browser eval-demo eval-newsdev clean-index

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU torch first: this exact version is served locally; anything else pulls CUDA wheels
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) app.py

# Debian's chromium for the real-browser tests (Playwright drives it; nothing is downloaded by Playwright)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

test: setup browser
	$(VENV)/bin/pytest -q -rs

eval-demo: setup
	$(VENV)/bin/qa eval eval/sets/demo.jsonl --corpus demo/articles.jsonl --out eval_out/demo \
	  --baseline eval/baselines/demo.json

eval-newsdev: setup
	$(VENV)/bin/qa eval ../shared/data/news-dev/questions.jsonl --corpus ../shared/data/news-dev/corpus.jsonl \
	  --out eval_out/news-dev --compare dense,lexical

clean-index:
	rm -rf index_store/gen-* index_store/CURRENT index_store/.write.lock
