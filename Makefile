# Every target creates the virtualenv it needs; nothing must be installed by hand.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
BASE_STAMP := $(VENV)/.installed
OUT ?= out/demo

# Every install is pinned by constraints.txt, the versions the suite was recorded with.
PIP := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: venv demo test lint typecheck unit sysdeps bench clean schema docs

# Two installs: the demo needs only the package (no server stack); tests add the dev extra
# (test tools, the service, the docs builder) and spark.
$(BASE_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(PIP) -e .
	touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(PIP) -e ".[dev,spark]"
	touch $(STAMP)

venv: $(STAMP)

## The main job: simulate the default world, analyse it, write out/demo/report.html
demo: $(BASE_STAMP)
	$(BIN)/seemingly study --out $(OUT)

## Lint, type-check and the whole test suite (browser and Spark tests included)
test: $(STAMP) sysdeps
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy src
	$(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site
	$(BIN)/python -m pytest -n 2 --dist loadfile

## The documentation site (user guide and the API reference from docstrings) into site/
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

sysdeps:
	bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

## Regenerate docs/results.schema.json and docs/evaluation.schema.json from the types (a test checks them)
schema: $(BASE_STAMP)
	$(BIN)/python -m seemingly.results > docs/results.schema.json
	$(BIN)/python -m seemingly.results evaluation > docs/evaluation.schema.json

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow and not spark and not browser"

clean:
	rm -rf $(VENV) out site .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
