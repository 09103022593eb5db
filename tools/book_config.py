"""Print _config.yml with the build reading the chapters' outputs from a jupyter-cache.

    python tools/book_config.py CACHE_DIR > _build/_config.cached.yml
    jupyter-book build . --config _build/_config.cached.yml

`make test` uses it to render the notebooks that nbval has just executed and checked (stored by
`pytest --nb-cache=CACHE_DIR`, see conftest.py) instead of executing them again: the build's
execution mode becomes `cache`, and a chapter missing from the cache is executed as usual.
_config.yml itself keeps its own mode for `make book`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def cached_config(cache: Path) -> dict:
    """_config.yml's settings, with execution taken from the jupyter-cache at `cache`.

    Jupyter Book reads the paths of local extensions and bibliographies relative to the config
    file; they become absolute, so that the printed config works from any folder.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {}).update(execute_notebooks="cache", cache=str(cache.resolve()))
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = str(ROOT / folder)
    config["bibtex_bibfiles"] = [str(ROOT / path) for path in config.get("bibtex_bibfiles", [])]
    return config


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__.strip())
    yaml.safe_dump(cached_config(Path(sys.argv[1])), sys.stdout, allow_unicode=True, sort_keys=False)
