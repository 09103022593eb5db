"""The optional dependencies of softmax_lib, by pyproject.toml extra, and the hint when one is missing.

`import softmax_lib` needs only NumPy and array-api-compat. The verification kit needs the
`verify` extra (torch, mpmath) and the book's helpers the `book` extra (SymPy, ...); a command
that needs an extra calls `require_extra` first, so that a core-only install gets one line that
says what to install instead of an ImportError from deep inside a check.
"""

from __future__ import annotations

import importlib

# Module names as imported, per extra of pyproject.toml.
EXTRAS = {
    "verify": ("torch", "mpmath"),
    "book": ("sympy", "matplotlib", "scipy"),
}


def require_extra(extra: str, purpose: str) -> None:
    """Exit with an install hint when a module of `extra` cannot be imported.

    Parameters
    ----------
    extra : str
        A key of `EXTRAS`: "verify" or "book".
    purpose : str
        What needs it, for the message, e.g. "python -m softmax_lib.verify".

    Raises
    ------
    SystemExit
        Naming the missing modules and the pip command that installs them.

    Examples
    --------
    >>> EXTRAS["verify"]
    ('torch', 'mpmath')
    >>> require_extra("gpu", "python -m softmax_lib.verify")
    Traceback (most recent call last):
    ...
    ValueError: extra must be one of ['book', 'verify'], got 'gpu'
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {sorted(EXTRAS)}, got {extra!r}")
    missing = []
    for name in EXTRAS[extra]:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SystemExit(
            f"{purpose} needs {', '.join(missing)}, which softmax_lib's core install leaves out. "
            f"Install the [{extra}] extra: pip install 'softmax_lib[{extra}]' (or pip install -r requirements.txt)"
        )
