# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Test processes (pytest-xdist): 2 by default (the suite mostly waits on servers and browsers:
# a whole .ci/run used 0.6 of a core on average); 0 = one process.
PYTEST_WORKERS ?= 2

.PHONY: run test venv translations lint clean audit

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
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

# Dependency audit (README "Dependencies"): an advisory snapshot fetched while PyPI is
# reachable, judged offline (also by the test suite). Never fails for want of a network.
AUDIT_VENV := .venv-audit
$(AUDIT_VENV)/bin/pip-audit: requirements-audit.txt
	test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet -r requirements-audit.txt \
		|| echo "dependency audit: pip-audit could not be installed (offline?)"

audit: venv
	-$(MAKE) --no-print-directory $(AUDIT_VENV)/bin/pip-audit
	timeout 600 $(BIN)/python tools/dependency_audit.py fetch || true
	$(BIN)/python tools/dependency_audit.py check

clean:
	rm -rf $(VENV) $(AUDIT_VENV) instance .pytest_cache
