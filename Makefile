# Two commands on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint bench quality clean

$(BIN)/radplain: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/radplain  ## install, then explain the example chest X-ray report
	$(BIN)/radplain explain examples/chest-xray.txt

lint: $(BIN)/radplain
	$(BIN)/ruff check service tests benchmarks

test: lint  ## the full test suite (the command CI runs)
	$(BIN)/radplain check-mappings
	$(BIN)/python -m pytest

quality: $(BIN)/radplain  ## print readability, coverage and assertion figures
	$(BIN)/python benchmarks/quality.py

bench: $(BIN)/radplain  ## print speed figures, with negspacy as the baseline
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
