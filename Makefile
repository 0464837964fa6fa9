# Two commands for a listener: `make demo` and `make test`. `make dev` opens the Dagster UI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
DEMO_ROWS ?= 150000

.PHONY: demo test dev bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-all: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[spark,databricks,docker,dev]'
	touch $(VENV)/.installed $@

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp spotify_assets/dagster.yaml $@

demo: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/spotify-assets sample data/landing/Spotify_Streaming_History.csv --rows $(DEMO_ROWS) --seed 7
	$(BIN)/spotify-assets sample data/landing/my_spotify_data.zip --format zip --rows 20000 --seed 7
	$(BIN)/spotify-assets run

test: $(VENV)/.installed-all
	$(BIN)/python -m pytest

dev: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

bench: $(VENV)/.installed-all
	$(BIN)/python bench/bench_foundation.py

clean:
	rm -rf data .pytest_cache
