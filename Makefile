# Two entry points: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench golden clean

run: $(STAMP)
	$(BIN)/latticework batch

test: $(STAMP)
	$(BIN)/python -m pytest

# pyflakes, bugbear, isort, pyupgrade (ruff) and the types (mypy, with pydantic's plugin)
lint: $(STAMP)
	$(BIN)/ruff check engine tests benchmarks
	$(BIN)/mypy

# figures, not pass/fail: the README's performance section quotes them
bench: $(STAMP)
	$(BIN)/latticework bench --profiles 2000 --rss-profiles 10000

# after an intended change of rules, profiles or rendering: rewrite tests/golden/
golden: $(STAMP)
	$(BIN)/python -m tests.golden

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# durable-rules ships as source only: this step compiles its C core (gcc, Python headers)
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
