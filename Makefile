# telemed: two commands matter. `make run` serves the demo province; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export TELEMED_VAR_DIR ?= $(CURDIR)/var
PYTEST_ARGS ?=

.PHONY: run test lint pytest bench install assets messages system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.installed

messages: install
	@for dir in telemed/locale telemed/*/locale; do \
	  $(BIN)/pybabel compile --use-fuzzy -d $$dir -D django >/dev/null || exit 1; \
	done

# Debian packages the real-client tests use (Chromium for Playwright, dcmtk). Installed when
# missing and we may; otherwise the tests that need them say what is missing.
system-deps:
	@sh scripts/system-deps.sh

run: install assets messages
	$(BIN)/telemed migrate --noinput -v0
	$(BIN)/telemed collectstatic --noinput -v0
	TELEMED_DEMO=true REQUIRE_SECOND_FACTOR=false $(BIN)/telemed demo
	TELEMED_DEMO=true REQUIRE_SECOND_FACTOR=false $(BIN)/telemed serve

lint: install
	$(BIN)/ruff check telemed tests bench
	$(BIN)/ruff format --check telemed tests bench
	$(BIN)/mypy telemed

pytest: install assets messages system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

bench: install assets messages
	@sh scripts/bench-deps.sh
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
