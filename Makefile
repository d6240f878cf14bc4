# Two commands matter: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# compat: the project folder on the path, not an import hook every `pot` process would load first.
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	# Bytecode now, as a wheel install does: with PYTHONDONTWRITEBYTECODE set, every command would compile it.
	$(BIN)/python -m compileall -q cli.py cli_shared.py cli_reads.py cli_quick.py cli_warm.py cli_warm_server.py cli_commands domain ledger projections web
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo.sqlite demo.sqlite-wal demo.sqlite-shm
	$(BIN)/pot --db demo.sqlite demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo.sqlite* .pytest_cache .mypy_cache .ruff_cache .hypothesis
