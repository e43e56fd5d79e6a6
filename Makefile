# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv translations lint clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

translations: venv
	$(BIN)/pybabel compile --use-fuzzy -d console/translations > /dev/null

run: venv translations
	$(BIN)/python -m console.cli upgrade
	$(BIN)/python -m console.cli demo
	@echo ""
	@echo "  1300 console: http://$(HOST):$(PORT)/   (Ctrl-C to stop)"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python run.py

test: venv translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache
