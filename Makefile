# PartnerDesk: `make demo` runs it, `make test` tests it. Both set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SIM_PORT ?= 8765
PYTEST_ARGS ?= -n 2

.PHONY: demo test install install-test system-test-deps lint messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Run PartnerDesk with its embedded defaults: SQLite in var/, demo data, the operator simulator.
demo: install
	PARTNERDESK_MODE=demo $(BIN)/partnerdesk demo --port $(PORT) --simulator-port $(SIM_PORT)

## Install everything and run the whole suite (DATABASE_URL selects PostgreSQL; SQLite otherwise).
test: install-test system-test-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

system-test-deps:
	bash scripts/system-test-deps.sh

lint: install-test
	$(BIN)/ruff check .

messages: install-test
	PARTNERDESK_MODE=demo $(BIN)/python manage.py makemessages -l zh_Hans -l zh_Hant --ignore=.venv --ignore=bench
	PARTNERDESK_MODE=demo $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var
