"""Sphinx settings for the book's web site that _config.yml cannot express."""

import hashlib
import importlib.metadata
import re
from pathlib import Path

# Where the fingerprint of the last successful build is kept (in the doctree directory, next to
# Sphinx's own pickled environment, so `make clean` removes both).
_FINGERPRINT_FILE = "book_site_inputs.sha256"
# Library directories whose code the notebooks import, relative to the book's root.
_LIBRARY_DIRS = ("softmax_lib",)


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    # sphinx-thebe and sphinx-togglebutton add inline configuration scripts from Sphinx events.
    # The HTML builder ends up with each twice, once with file name None and once with '', and
    # the second `const THEBE_JS_URL = ...` is a SyntaxError in the reader's console.
    seen = set()
    unique = []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


def _citation_list_role(app, pagename, templatename, context, doctree):
    # Docutils writes the bibliography as <div role="list"> whose entries have the role
    # doc-biblioentry, which is not a list item: screen readers announce an empty list, and
    # axe-core reports it as critical (aria-required-children). Without the role it is a plain
    # block of entries, each still marked as a bibliography entry.
    if "body" in context:
        context["body"] = context["body"].replace(
            '<div role="list" class="citation-list">', '<div class="citation-list">'
        )


def inputs_fingerprint(root):
    """SHA-256 of what a notebook's outputs depend on besides the notebook itself.

    That is the library's source (every file under ``softmax_lib/``) and the name and version of
    every installed distribution, so that both an edit to the library and an upgrade of NumPy,
    SymPy or torch make the next build re-execute every notebook.
    """
    digest = hashlib.sha256()
    root = Path(root)
    for directory in _LIBRARY_DIRS:
        for path in sorted((root / directory).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    versions = sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    )
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()


def _notebooks_to_reexecute(app, env, added, changed, removed):
    # Sphinx re-reads (and myst-nb, with execute_notebooks: force, re-executes) only the sources
    # that changed. A notebook whose library changed would keep its old outputs, so when the
    # library or the installed packages differ from the last successful build, every notebook
    # is read again.
    app.book_site_fingerprint = inputs_fingerprint(app.srcdir)
    stored = Path(app.doctreedir, _FINGERPRINT_FILE)
    if stored.is_file() and stored.read_text() == app.book_site_fingerprint:
        return []
    return [docname for docname in env.found_docs if docname not in added and env.doc2path(docname).endswith(".ipynb")]


def _remember_inputs(app, exception):
    # Only a build that succeeded may vouch for its outputs: after a failed one the next build
    # executes every notebook again.
    stored = Path(app.doctreedir, _FINGERPRINT_FILE)
    fingerprint = getattr(app, "book_site_fingerprint", None)
    if exception is None and getattr(app, "_warncount", 0) == 0 and fingerprint:
        stored.write_text(fingerprint)
    elif stored.exists():
        stored.unlink()


def _plain_bars(app, what, name, obj, options, lines):
    # The library's docstrings write formulas in plain text, where |S| is a set's size or |x| an
    # absolute value; reStructuredText would read |S| as an (undefined) substitution.
    lines[:] = [re.sub(r"(?<!\\)\|", r"\\|", line) for line in lines]


def _add_static_files(app, config):
    # The book's own CSS and JavaScript for reading on any screen (see static/book_site.css).
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app):
    # Chapter titles contain math, and the navigation sidebar shows every title on every page.
    # Sphinx adds MathJax only to pages with equations of their own, which would leave the titles
    # raw (\(p - y\)) on the references, index and search pages.
    app.set_html_assets_policy("always")
    # html-page-context stops at the first handler that returns a template name, so run early.
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    app.connect("html-page-context", _citation_list_role)
    app.connect("config-inited", _add_static_files)
    app.add_css_file("book_site.css")
    app.add_js_file("book_site.js", defer="defer")
    # autodoc defines the event; loading it here keeps the extension usable on its own.
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", _plain_bars)
    app.connect("env-get-outdated", _notebooks_to_reexecute)
    app.connect("build-finished", _remember_inputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
