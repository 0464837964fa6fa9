# Two commands for a listener: `make demo` and `make test`. `make dev` opens the Dagster UI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
DEMO_ROWS ?= 150000
# What `make test` runs before the suite: the hygiene gate (`make lint`; `make test TEST_GATE=` skips it
# for a quick local run, CI never does).
TEST_GATE ?= lint
# The README's screenshots (docs/*.png); the tests write theirs into temporary folders.
SCREENSHOT_TESTS := spotify_assets_tests/test_e2e_ui.py spotify_assets_tests/test_report_browser.py

.PHONY: demo test lint format screenshots lock dev bench clean

# requirements.lock pins every package of every extra (CI and the docker image install from it)
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock -e .
	touch $@

$(VENV)/.installed-all: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --requirement requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(VENV)/.installed $@

# written when missing, upgraded when it is an earlier shipped version, kept when edited by hand
$(DAGSTER_HOME)/dagster.yaml: spotify_assets/dagster.yaml | $(VENV)/.installed
	$(BIN)/python -m spotify_assets.instance_config

demo: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/spotify-assets sample data/landing/Spotify_Streaming_History.csv --rows $(DEMO_ROWS) --seed 7
	$(BIN)/spotify-assets sample data/landing/my_spotify_data.zip --format zip --rows 20000 --seed 7
	$(BIN)/spotify-assets run

test: $(VENV)/.installed-all $(TEST_GATE)
	$(BIN)/python -m pytest

# the hygiene gate: lint, formatting and types, at the settings of pyproject.toml
lint: $(VENV)/.installed-all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-all
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

screenshots: $(VENV)/.installed-all
	SPOTIFY_SCREENSHOT_DIR=$(CURDIR)/docs $(BIN)/python -m pytest -m e2e $(SCREENSHOT_TESTS)

# after a change of pyproject.toml's dependencies; LOCK_ARGS=--upgrade moves every pin to the newest allowed
lock: $(VENV)/.installed-all
	$(BIN)/pip-compile --quiet --all-extras --strip-extras --no-emit-index-url --no-emit-find-links \
		$(LOCK_ARGS) --output-file requirements.lock pyproject.toml

dev: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

bench: $(VENV)/.installed-all
	$(BIN)/python bench/bench_foundation.py

clean:
	rm -rf data .pytest_cache
