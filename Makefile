# The two commands of the README, and a few helpers. Each target creates the virtualenv on first
# use, so a fresh clone needs only python3 (with venv) and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

export ICON_HOME ?= $(CURDIR)/var
export DAGSTER_HOME ?= $(ICON_HOME)/dagster_home

.PHONY: setup demo test bench fuzz ui ui-screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

## Simulate a small contact center (unless ICON_LOG_DIR is set) and run the main job.
demo: setup
	$(BIN)/icon-etl demo

## Install everything and run the test suite (what CI runs).
test: setup
	$(BIN)/pytest

## Benchmarks (print numbers; never asserted). Each simulates what it needs under bench/out.
bench: setup
	$(BIN)/python bench/parse_bench.py --floor
	$(BIN)/python bench/truth_bench.py
	$(BIN)/python bench/e2e_bench.py
	$(BIN)/python bench/dss_bench.py

## The parser fuzz campaign docs/reliability.md reports: 100,000 segments (two processes of
## 50,000, other seeds; `make test` runs 300).
fuzz: setup
	ICON_FUZZ_EXAMPLES=50000 $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py \
	    --hypothesis-seed=1 --hypothesis-show-statistics & first=$$!; \
	ICON_FUZZ_EXAMPLES=50000 $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py \
	    --hypothesis-seed=2 --hypothesis-show-statistics; second=$$?; \
	wait $$first && test $$second -eq 0

## The Dagster UI on http://127.0.0.1:3000 over the demo's data (run `make demo` first).
ui: setup
	ICON_LOG_DIR=$${ICON_LOG_DIR:-$(ICON_HOME)/demo/logs} \
	ICON_CONFIG_SNAPSHOT=$${ICON_CONFIG_SNAPSHOT:-$(ICON_HOME)/demo/config.json} \
	ICON_OPTIONS=$${ICON_OPTIONS:-$(CURDIR)/examples/icon-options.toml} \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## A headless-Chromium screenshot of the UI's asset lineage page into docs/img/lineage.png, over
## the demo's data (runs the demo first if there is no Dagster instance yet; needs a system
## Chromium: apt-get install -y chromium).
ui-screenshot: setup
	$(BIN)/python tools/ui_screenshot.py

clean:
	rm -rf var .pytest_cache
