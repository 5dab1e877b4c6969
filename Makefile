# The two commands a newcomer needs: `make demo` and `make test`. Both work on a fresh machine with
# nothing but Python: uv is installed with pip when missing, then the locked environment is synced.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PG_URL ?= $(or $(OSUITE_TEST_PG_URL),postgresql://postgres@127.0.0.1:5432/test)
PYTEST_ARGS ?=

.PHONY: setup chromium demo test test-sqlite test-pg lint fmt messages bench clean

setup:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || $(PYTHON) -m pip install --user --quiet uv || $(PYTHON) -m pip install --quiet uv
	@$$(command -v uv || echo $(UV)) sync --frozen --quiet

# The UI tests (tests/ui) drive Debian's Chromium through Playwright; Playwright's own browser
# downloads are never used. Installed with apt when missing (through sudo when not root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null 2>&1; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

demo: setup
	$$(command -v uv || echo $(UV)) run --frozen osuite demo

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports

test: lint test-sqlite test-pg

test-sqlite: setup chromium
	OSUITE_TEST_PG_URL= .venv/bin/pytest $(PYTEST_ARGS)

# The whole suite again on PostgreSQL, when a server answers (CI always has one); not the UI tests, as
# the till's own database is always SQLite.
test-pg: setup
	@if .venv/bin/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== the suite on PostgreSQL ($(PG_URL)) =="; \
		OSUITE_TEST_PG_URL=$(PG_URL) .venv/bin/pytest --ignore=tests/ui $(PYTEST_ARGS); \
	else echo "== PostgreSQL not reachable at $(PG_URL): suite ran on SQLite only =="; fi

fmt: setup
	.venv/bin/ruff format src tests bench
	.venv/bin/ruff check --fix src tests bench

# Bring the Russian catalogs up to date with the code and templates: new messages arrive empty (translate
# them; tests/core/test_i18n_catalogs.py lists what is missing), removed ones go. The POS keeps two:
# errors.po for the engine's refusals, ui.po for the screen; the processing center keeps one, errors.po
# for its refusals (problem details carry their template and params). No compile step: catalogs load as .po.
messages: setup
	@mkdir -p var
	.venv/bin/pybabel extract -F babel.cfg -k N_ --ignore-dirs ui --no-location -w 100 -o var/pos-errors.pot src/osuite/pos
	.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location -w 100 -o var/pos-ui.pot src/osuite/pos/ui
	.venv/bin/pybabel update -i var/pos-errors.pot -d src/osuite/pos/locale -D errors -l ru -N --ignore-obsolete -w 100
	.venv/bin/pybabel update -i var/pos-ui.pot -d src/osuite/pos/locale -D ui -l ru -N --ignore-obsolete -w 100
	.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location -w 100 -o var/processing-errors.pot src/osuite/processing
	.venv/bin/pybabel update -i var/processing-errors.pot -d src/osuite/processing/locale -D errors -l ru -N --ignore-obsolete -w 100
	.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location -w 100 -o var/scales-ui.pot src/osuite/scales
	.venv/bin/pybabel update -i var/scales-ui.pot -d src/osuite/scales/locale -D ui -l ru -N --ignore-obsolete -w 100

bench: setup
	.venv/bin/python -m bench.ingest
	.venv/bin/python -m bench.catalog_sync
	.venv/bin/python -m bench.pos_scan
	.venv/bin/python -m bench.pos_close

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis
