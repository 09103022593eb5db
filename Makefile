# make book: install what is needed into .venv, then build the HTML book into _build/html.
# make test: build the book (warnings are errors), then run the unit tests and nbval over every notebook.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install book test clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

book: install
	$(BIN)/jupyter-book build . -W -n --keep-going

test: book
	$(BIN)/python -m pytest

clean:
	rm -rf _build
