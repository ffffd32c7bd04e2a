# The two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EMBED := $(PY) -m pms_site.embedded exec --
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test lint typecheck contracts pytest bench stop clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Start the whole system (embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset).
run: $(VENV)/.runtime
	$(EMBED) sh -c '$(PY) manage.py migrate --noinput && $(PY) manage.py seed_demo && $(PY) manage.py seed_demo_algos && exec $(VENV)/bin/honcho start -f Procfile'

## Lint, types, layer contracts and the test suite; fails on any of them.
test: $(VENV)/.dev lint typecheck contracts pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.dev
	$(EMBED) $(VENV)/bin/mypy .

contracts: $(VENV)/.dev
	$(VENV)/bin/lint-imports

pytest: $(VENV)/.dev
	$(EMBED) $(VENV)/bin/pytest

bench: $(VENV)/.dev
	$(EMBED) sh -c 'for b in bench/*.py; do $(PY) $$b || exit 1; done'

## Stop the embedded PostgreSQL and Redis (their data stays in .pms/).
stop:
	$(PY) -m pms_site.embedded stop

clean: stop
	rm -rf .pms
