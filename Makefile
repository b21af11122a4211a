# The two commands: `make run` serves the portal with a worker and beat; `make test`
# runs the whole suite on SQLite. Both create .venv and install what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
SITE_URL ?= http://127.0.0.1:$(PORT)
export PORT SITE_URL

.PHONY: run test lint install clean catalogues messages bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# statuscheck pins click 7, which celery cannot run on; it works with ours.
	$(BIN)/pip install --quiet --no-deps 'statuscheck==3.11.0'
	touch $(STAMP)

install: $(STAMP)

# Compiled catalogues come from the committed .po files (config/catalogues.py, Babel: no
# GNU gettext needed); `make messages` (which needs it) refreshes the .po from the code.
catalogues: $(STAMP)
	$(BIN)/python -m config.catalogues

messages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale ko --no-obsolete --add-location file \
		--ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'

run: catalogues
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py load_demo_oncall
	$(BIN)/python manage.py load_demo_integrations
	$(BIN)/python manage.py load_demo_comms
	@echo
	@echo "  Hotline is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins (password: demo): admin, manager, responder, support; jiwoo (in Korean)"
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo
	exec $(BIN)/honcho --procfile Procfile start --port $(PORT)

test: catalogues
	$(BIN)/pytest

# Every benchmark in bench/ at the default size, one table of ratios (python -m bench);
# `make bench ARGS=--full` for the issue's large size. Throw-away SQLite and the embedded
# broker unless DATABASE_URL / REDIS_URL name scratch databases (the issue's figures are
# on PostgreSQL + Redis; the benchmarks migrate, fill and empty them).
bench: catalogues
	$(BIN)/python -m bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
