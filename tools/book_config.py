"""Print _config.yml with the build reading the chapters' outputs from a jupyter-cache.

    python tools/book_config.py CACHE_DIR > _build/_config.cached.yml      (make test)
    python tools/book_config.py --execute [WORKERS] > _build/_config.book.yml   (make book, make pdf)
    jupyter-book build . --config _build/_config.cached.yml

`make test` uses the first form to render the notebooks that nbval has just executed and checked
(stored by `pytest --nb-cache=CACHE_DIR`, see conftest.py) instead of executing them again.

`make book` uses the second: it executes the chapters that are not yet in the book's cache,
WORKERS (default: the number of CPUs) at a time, the longest first, each in its own kernel forked
from a process that has imported the packages once (tools/warm_kernels.py), and stores them there.
The HTML build and the single-page build of the PDF then both read every chapter from that cache,
so no chapter is executed twice, nor one after the other. The cache's folder is named after
_ext/book_site.py's fingerprint of the library's source and the installed packages: a change to
softmax_lib/ or an upgrade of a package starts an empty cache, so every chapter is executed again
(a chapter that changed is executed again anyway: jupyter-cache matches a notebook by its code).

In both forms the build's execution mode becomes `cache`: a chapter missing from the cache is
executed by the build, as _config.yml says, with its timeout and raise_on_error.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK_CACHES = ROOT / "_build" / ".jupyter_cache"


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


def book_cache(root: Path = ROOT) -> Path:
    """The cache folder for the current library and packages: _build/.jupyter_cache/FINGERPRINT."""
    sys.path.insert(0, str(root / "_ext"))
    try:
        from book_site import inputs_fingerprint
    finally:
        sys.path.pop(0)
    return root / "_build" / ".jupyter_cache" / inputs_fingerprint(root)[:16]


def chapters() -> list[Path]:
    """The notebooks of the table of contents."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from book_html import toc_documents
    finally:
        sys.path.pop(0)
    return [ROOT / f"{doc}.ipynb" for doc in toc_documents() if (ROOT / f"{doc}.ipynb").is_file()]


# Each chapter's execution time in the last build, kept across caches: the longest chapters start
# first, so that the build does not end on one long chapter while the other workers wait.
TIMINGS = BOOK_CACHES / "seconds.json"


def longest_first(paths: list[Path]) -> list[Path]:
    """`paths` in decreasing order of their last execution time (unknown ones first, in order)."""
    try:
        seconds = json.loads(TIMINGS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        seconds = {}
    return sorted(paths, key=lambda path: -seconds.get(path.name, float("inf")))


def execute_missing(cache_path: Path, workers: int) -> list[str]:
    """Execute the chapters that `cache_path` lacks, `workers` at a time; the failures' tracebacks.

    Each chapter runs in its own kernel, forked from this process once it has imported the packages
    the chapters use (tools/warm_kernels.py): a new kernel would spend 3.5 s importing them.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import warm_kernels
    finally:
        sys.path.pop(0)

    for stale in BOOK_CACHES.glob("*"):  # caches of an older library or package set
        if stale != cache_path and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    cache = get_cache(cache_path)
    missing = []
    for path in chapters():
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            missing.append(path)
    print(f"executing {len(missing)} chapters, {workers} at a time, into {cache_path}", file=sys.stderr)
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["execute"].get("timeout", 30)
    warm_kernels.warm_up()
    failures, seconds = [], {}
    for path, notebook, time, error in warm_kernels.execute(longest_first(missing), workers, timeout):
        name = path.relative_to(ROOT)
        if error:
            failures.append(f"{name}:\n{error}")
            continue
        print(f"  {name}: {time:.1f} s", file=sys.stderr)
        seconds[path.name] = round(time, 2)
        cache.cache_notebook_bundle(
            CacheBundleIn(notebook, str(path), data={"execution_seconds": time}),
            check_validity=False,
            overwrite=True,
        )
    if seconds:
        try:
            seconds = {**json.loads(TIMINGS.read_text(encoding="utf-8")), **seconds}
        except (OSError, ValueError):
            pass
        TIMINGS.write_text(json.dumps(seconds, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return failures


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--execute"] and len(arguments) <= 2:
        target = book_cache()
        failed = execute_missing(target, int(arguments[1]) if len(arguments) == 2 else os.cpu_count() or 1)
        if failed:
            sys.exit("chapters that failed to execute:\n\n" + "\n\n".join(failed))
    elif len(arguments) == 1 and not arguments[0].startswith("-"):
        target = Path(arguments[0])
    else:
        sys.exit(__doc__.strip())
    yaml.safe_dump(cached_config(target), sys.stdout, allow_unicode=True, sort_keys=False)
