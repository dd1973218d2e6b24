# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint format bench messages audit clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create a virtualenv. On Debian: apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m config.run

test: install
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -x -q -m "not browser and not worker" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# The release check: the installed dependencies against the PyPI/OSV advisory databases (needs
# to reach them, so it is not part of `make test`).
audit: install
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

bench: install
	$(BIN)/python -m bench

messages: install
	cd . && $(BIN)/python manage.py makemessages -l de --ignore=.venv --ignore=var --no-obsolete
	$(BIN)/python manage.py makemessages -d djangojs -l de --ignore=.venv --ignore=var --ignore='*/vendor/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var/test.sqlite3* .pytest_cache
