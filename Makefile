# make book: install what is needed into .venv, then build the HTML book into _build/html.
# make test: build the book (warnings are errors), then run the unit tests, nbval over every
#            notebook and the browser test over every built page (screenshots: _build/screenshots/).
# make clean-notebooks: strip the per-cell timestamps `jupyter execute` stores in book/*.ipynb.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install book test clean clean-notebooks

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

book: install
	$(BIN)/jupyter-book build . -W -n --keep-going

test: book
	$(BIN)/python -m pytest

clean-notebooks: install
	$(BIN)/python tests/test_notebooks_metadata.py --fix

clean:
	rm -rf _build
