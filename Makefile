# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Every dependency (the dev extra's too) pinned with hashes: two installs a month apart get the
# same versions. `make lock` writes it from pyproject.toml.
LOCK := requirements.lock

.PHONY: install lock run test test-fast lint format bench messages audit clean

# The locked requirements (pip checks every hash, and that nothing unlocked is needed), then the
# project itself without dependencies; `pip check` catches a pyproject.toml the lock is behind.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create a virtualenv. On Debian: apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
	  echo "pyproject.toml asks for what $(LOCK) does not pin: run make lock"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

# Rewrites $(LOCK) from pyproject.toml's dependencies and its dev extra, keeping the pins it
# has unless asked: `make lock LOCK_ARGS=--upgrade` (everything) or
# `LOCK_ARGS='--upgrade-package django'`. Resolved for the Python that runs it (3.11 here);
# pip and setuptools are pinned too (--allow-unsafe), so a fresh venv matches.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/pip-compile || $(BIN)/python -m pip install -q pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	  --allow-unsafe --strip-extras --extra dev --no-emit-index-url --no-emit-find-links \
	  --no-emit-trusted-host $(LOCK_ARGS) -o $(LOCK) pyproject.toml

run: install
	$(BIN)/python -m config.run

test: install
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -x -q -m "not browser and not worker and not packaging" $(PYTEST_ARGS)

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
