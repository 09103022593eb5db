# make book: install what is needed into .venv, then build the HTML book into _build/html, and its
#            PDF (_build/pdf/book.pdf, linked from the home page) when Chromium is installed.
# make test: build the book (warnings are errors), then run every test: unit and property tests,
#            nbval over every notebook, the browser test over every built page (screenshots:
#            _build/screenshots/), and the slow ones (planted errors, a fresh install).
# make test-fast: the same without the slow tests (a few minutes less).
# make determinism: run the fast suite twice (serial, then parallel) and check that no file changed.
# make clean-notebooks: strip the per-cell timestamps `jupyter execute` stores in book/*.ipynb.
# make lab: install JupyterLab (requirements-lab.txt) into .venv and open the chapters in it.
# make regression: run the notebooks against the packages installed for $(PYTHON) (not .venv) and
#                  list the cells whose output changed, by chapter.
# make pdf: the same, failing if there is no Chromium to print the PDF with.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# pytest-xdist: two workers; --dist loadscope keeps each notebook's cells on one worker, in order.
XDIST = -n 2 --dist loadscope
# Serial by default: on two cores the fast suite took as long in parallel (worker start-up), and
# the slow tests run their own subprocesses in parallel. `make test PARALLEL="$(XDIST)"` opts in.
PARALLEL ?=

.PHONY: install book test test-fast determinism clean clean-notebooks check-python lab regression pdf

install: $(VENV)/.installed

# The pinned stack (numpy 2.4.6, scipy, matplotlib, ipython) needs Python 3.11 or newer.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  (echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); \
	this book needs Python 3.11 or newer (make PYTHON=python3.11 ...)" >&2; exit 1)

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

book: install
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python _ext/build_pdf.py --optional

test: book
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: book
	$(BIN)/python -m pytest -m "not slow" $(PARALLEL)

# Two consecutive runs of the fast suite, serial then parallel (pytest-xdist), must both pass against
# the same stored outputs and leave every file of the tree (tracked, or untracked and not ignored)
# byte-identical.
TREE_STATE = git ls-files -z --cached --others --exclude-standard | xargs -0 sha256sum
determinism: install
	$(TREE_STATE) > $(VENV)/.tree-before
	$(BIN)/python -m pytest -m "not slow" -p no:xdist
	$(BIN)/python -m pytest -m "not slow" $(XDIST)
	$(TREE_STATE) | diff $(VENV)/.tree-before - || (echo "the test runs changed files in the tree" && exit 1)

lab: install
	$(BIN)/python -m pip install -r requirements-lab.txt
	$(BIN)/jupyter lab book

# The whole book as one PDF (Chromium prints the single-page HTML), linked from the home page.
pdf: install
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python _ext/build_pdf.py

regression:
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	$(PYTHON) tests/regression.py

clean-notebooks: install
	$(BIN)/python tests/test_notebooks_metadata.py --fix

clean:
	rm -rf _build
