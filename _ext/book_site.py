"""Sphinx settings for the book's web site that _config.yml cannot express."""


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


def setup(app):
    # Chapter titles contain math, and the navigation sidebar shows every title on every page.
    # Sphinx adds MathJax only to pages with equations of their own, which would leave the titles
    # raw (\(p - y\)) on the references, index and search pages.
    app.set_html_assets_policy("always")
    # html-page-context stops at the first handler that returns a template name, so run early.
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
