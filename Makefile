# make book: install what is needed into .venv, execute the chapters (all CPUs at once) into the
#            book's cache, then build the HTML book into _build/html, and its PDF
#            (_build/pdf/book.pdf, linked from the home page) when Chromium is installed, both from
#            that cache: no chapter is executed twice. The cache (_build/.jupyter_cache/) is keyed by
#            the library's source and the installed packages (tools/book_config.py): a change to
#            either executes every chapter again, a changed chapter is executed again.
# make test: run every test: unit and property tests, the docstring examples, nbval over every
#            notebook; build the book from the notebooks nbval executed (warnings are errors); the
#            site and browser tests over every built page (screenshots: _build/screenshots/); and,
#            side by side with those, the slow ones (planted errors, a fresh install).
# make test-fast: the same without the slow tests (a few minutes less).
# make determinism: run the fast suite twice (serial, then parallel) and check that no file changed.
#                   CI runs its parallel half only (determinism-parallel): `make test` was the serial one.
# make clean-notebooks: strip the per-cell timestamps and the image bytes `jupyter execute` stores
#                      in book/*.ipynb (tools/notebooks.py; the build draws the figures again).
# make lint: ruff's lint and format checks (CI runs it); make format: let ruff fix what it can.
# make gpu-check: on a machine with a CUDA GPU, the unit tests, softmax_lib.verify and nbval over every
#            notebook with torch on CUDA, and the linear cross-entropy benchmark in bfloat16 (under 8
#            minutes; log in _build/gpu-check.log). See tools/gpu_check.sh.
# make lab: install JupyterLab (requirements-lab.txt) into .venv and open the chapters in it.
# make regression: run the notebooks against the packages installed for $(PYTHON) (not .venv) and
#                  list the cells whose output changed, by chapter.
# make pdf: the book and its PDF, failing if there is no Chromium to print the PDF with.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# pytest-xdist: two workers; --dist loadscope keeps each notebook's cells on one worker, in order.
XDIST = -n 2 --dist loadscope
# Serial by default: on two cores the fast suite took as long in parallel (worker start-up), and
# the slow tests run their own subprocesses in parallel. `make test PARALLEL="$(XDIST)"` opts in.
PARALLEL ?=

.PHONY: install book test test-fast determinism determinism-parallel tree-snapshot clean clean-notebooks lint format gpu-check check-python lab regression pdf

install: $(VENV)/.installed

# A virtualenv made from nothing gets the marker .fresh-install (the digest of requirements.txt and
# pyproject.toml, then `pip freeze`): while both still match, it is a fresh install of the current
# requirements, and tests/test_fresh_install.py need not build another. An update in place removes it.
# The pinned stack (numpy 2.4.6, scipy, matplotlib, ipython) needs Python 3.11 or newer.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  (echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); \
	this book needs Python 3.11 or newer (make PYTHON=python3.11 ...)" >&2; exit 1)

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	rm -f $(VENV)/.fresh-install
	if [ -d $(VENV) ]; then fresh=""; else fresh=1; fi; \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install -r requirements.txt && \
	if [ -n "$$fresh" ]; then \
	    { cat requirements.txt pyproject.toml | sha256sum | cut -d " " -f 1; $(BIN)/python -m pip freeze --all; } \
	        > $(VENV)/.fresh-install; \
	fi
	touch $@

BOOK_CONFIG = _build/_config.book.yml
book: install
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --execute > $(BOOK_CONFIG)
	$(BIN)/jupyter-book build . -W -n --keep-going --config $(BOOK_CONFIG)
	$(BIN)/python _ext/build_pdf.py --optional --config $(BOOK_CONFIG)

# The fast suite: nbval executes and checks every chapter and stores the executed notebooks in a
# jupyter-cache (--nb-cache, conftest.py); the book is built from them (tools/book_config.py)
# instead of executing every chapter a second time; then the tests that read the built book.
# `make book` executes the chapters itself, into its own cache (see above).
NB_CACHE = _build/.nbval_cache
# nbval's kernels forked from a fork server that has imported the packages once (conftest.py,
# tools/warm_kernels.py): a new kernel spends 3.5 s importing torch and the rest. WARM= turns it off.
WARM ?= --nb-warm-kernels
BUILT_BOOK_TESTS = tests/test_site.py tests/test_browser.py tests/test_pdf.py
# The unit and property tests, the docstring examples and nbval over every chapter: what the
# determinism runs repeat. The built-book tests read the HTML and PDF that `make test` built from
# these same outputs and change nothing, so a second run of them would check nothing new.
FAST_SUITE = -m "not slow" $(BUILT_BOOK_TESTS:%=--ignore=%)
# The browser test waits on Chromium page by page; on two workers it takes 3.6 min instead of about
# 4.5 (the slow tests have finished by then). The PDF's tests stay on one worker (test_pdf.py).
BUILT_BOOK_PARALLEL = -n 2 --dist loadgroup
test-fast: install
	mkdir -p _build
	rm -rf $(NB_CACHE)
	$(BIN)/python -m pytest $(FAST_SUITE) $(PARALLEL) --nb-cache=$(NB_CACHE) $(WARM)
	$(BIN)/python tools/book_config.py $(NB_CACHE) > _build/_config.cached.yml
	$(BIN)/jupyter-book build . -W -n --keep-going --config _build/_config.cached.yml
	$(BIN)/python _ext/build_pdf.py --optional --config _build/_config.cached.yml
	$(BIN)/python -m pytest $(BUILT_BOOK_TESTS) $(BUILT_BOOK_PARALLEL)

# The slow tests run beside the fast suite: the planted errors (tools/mutation_engine.py: two forked
# workers of one thread each) and the Colab-like run (two chapters at a time) keep two processes
# busy part of the time and the fast suite one, so together they fill the two cores. The slow run's report, kept
# in _build/slow-tests.log, is printed after the fast one's; either failing fails `make test`.
SLOW_LOG = _build/slow-tests.log
test: install
	@mkdir -p _build
	@$(BIN)/python -m pytest -m slow $(PARALLEL) > $(SLOW_LOG) 2>&1 & slow=$$!; \
	$(MAKE) --no-print-directory test-fast; fast=$$?; \
	wait $$slow; slow=$$?; \
	echo "--- the slow tests (planted errors, fresh install): $(SLOW_LOG) ---"; cat $(SLOW_LOG); \
	[ $$fast -eq 0 ] && [ $$slow -eq 0 ]

# Two consecutive runs of the fast suite, serial then parallel (pytest-xdist), must both pass against
# the same stored outputs and leave every file of the tree (tracked, or untracked and not ignored)
# byte-identical.
TREE_STATE = git ls-files -z --cached --others --exclude-standard | xargs -0 sha256sum
determinism: tree-snapshot
	$(BIN)/python -m pytest $(FAST_SUITE) -p no:xdist $(WARM)
	$(MAKE) determinism-parallel

tree-snapshot: install
	$(TREE_STATE) > $(VENV)/.tree-before

# The parallel run, then the comparison with the snapshot taken before the serial run (.ci/run:
# `make tree-snapshot test determinism-parallel`, so that `make test` is the serial run).
determinism-parallel: install
	$(BIN)/python -m pytest $(FAST_SUITE) $(XDIST) $(WARM)
	$(TREE_STATE) | diff $(VENV)/.tree-before - || (echo "the test runs changed files in the tree" && exit 1)

lab: install
	$(BIN)/python -m pip install -r requirements-lab.txt
	$(BIN)/jupyter lab book

# The whole book as one PDF (Chromium prints the single-page HTML), linked from the home page.
pdf: install
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --execute > $(BOOK_CONFIG)
	$(BIN)/jupyter-book build . -W -n --keep-going --config $(BOOK_CONFIG)
	$(BIN)/python _ext/build_pdf.py --config $(BOOK_CONFIG)

regression:
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	$(PYTHON) tools/regression.py

clean-notebooks: install
	$(BIN)/python tools/notebooks.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

gpu-check: install
	PYTHON=$(BIN)/python tools/gpu_check.sh

clean:
	rm -rf _build
