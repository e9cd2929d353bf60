# The two commands a user needs are `make run` and `make test`; the rest are for developers.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# Stamps make pip run again only when pyproject.toml changes.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-fast bench lint typecheck chromium poppler messages translations webfont clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[train,serve]'
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[train,serve,dev]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/scalpcheck demo

# Debian's Chromium for the Playwright end-to-end test (Playwright's own browser download cannot work offline).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

# Debian's poppler-utils: the report tests render the PDF with pdftoppm and read its text with pdftotext.
poppler:
	@command -v pdftoppm >/dev/null || { echo "installing Debian's poppler-utils for the report tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
	  || echo "warning: could not install poppler-utils; the report tests will fail"; }

test: $(TEST_STAMP) chromium poppler
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: $(TEST_STAMP)
	$(BIN)/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# What CI checks before the tests: lint, formatting and the type check (the pre-commit hooks run the same).
lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# The message catalogue (docs/translations.md): `make messages` collects every marked text into the
# template and merges it into each language's catalogue; `make translations` compiles them for the app.
CATALOGUE := src/scalpcheck/web/translations
POT       ?= $(CATALOGUE)/messages.pot
messages: $(TEST_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k text -k lazy_gettext -k _l --no-location --sort-output \
	  --omit-header -o $(POT) .
	@if [ "$(POT)" = "$(CATALOGUE)/messages.pot" ]; then \
	  $(BIN)/pybabel update -i $(POT) -d $(CATALOGUE) --no-fuzzy-matching --ignore-obsolete; fi

translations: $(TEST_STAMP)
	$(BIN)/pybabel compile -d $(CATALOGUE) --statistics

# The Devanagari web font of Hindi pages, for systems without one (committed; see the script).
webfont: $(TEST_STAMP)
	$(BIN)/python tools/devanagari_webfont.py

clean-venv:
	rm -rf $(VENV)
