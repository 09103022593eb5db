"""Sphinx settings for the book's web site that _config.yml cannot express."""


def setup(app):
    # Chapter titles contain math, and the navigation sidebar shows every title on every page.
    # Sphinx adds MathJax only to pages with equations of their own, which would leave the titles
    # raw (\(p - y\)) on the references, index and search pages.
    app.set_html_assets_policy("always")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
