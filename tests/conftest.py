"""Shared pytest configuration for tests/."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from softmax_lib.checks import DTYPES, NUMPY_DTYPES

# --- Hypothesis profiles (property tests) ----------------------------------------------------
# "ci" (the default): derandomized, so every run and every xdist worker draws the same examples,
# a bounded number of them, no example database written to disk and no per-example deadline
# (the machine is shared; timing must not decide a verdict). "explore": many random examples,
# for hunting new counterexamples by hand: HYPOTHESIS_PROFILE=explore pytest tests/test_properties.py
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=2000, deadline=None, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- seeded random data ------------------------------------------------------------------------
@pytest.fixture
def rng(request):
    """A NumPy generator seeded by the test module's RNG_SEED, so each module draws fixed data."""
    return np.random.default_rng(getattr(request.module, "RNG_SEED", 0))


# --- backends and dtypes -----------------------------------------------------------------------
# A test that takes `backend` runs on each array type softmax_lib accepts: NumPy (backend None),
# torch on the CPU, torch on CUDA. One that takes `device` runs on torch's two devices. Taking
# `dtype` as well runs it in every floating dtype the backend has (NumPy has no bfloat16). A test
# that parametrizes these names itself keeps its own values. CUDA cases carry the `cuda` mark and
# are skipped without a GPU, as bfloat16 is on a GPU without it.
BACKENDS = {"numpy": None, "torch-cpu": "cpu", "torch-cuda": "cuda"}


def _marks(backend: str | None) -> list[pytest.MarkDecorator]:
    return [pytest.mark.cuda] if backend == "cuda" else []


def _cases(backends: dict[str, str | None], with_dtype: bool) -> list:
    if not with_dtype:
        return [pytest.param(value, id=name, marks=_marks(value)) for name, value in backends.items()]
    return [
        pytest.param(value, dtype, id=f"{name}-{dtype}", marks=_marks(value))
        for name, value in backends.items()
        for dtype in DTYPES
        if value is not None or dtype in NUMPY_DTYPES
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    own = {name for mark in metafunc.definition.iter_markers("parametrize") for name in _argnames(mark)}
    for axis, backends in (("backend", BACKENDS), ("device", {k: v for k, v in BACKENDS.items() if v})):
        if axis in metafunc.fixturenames and axis not in own:
            with_dtype = "dtype" in metafunc.fixturenames and "dtype" not in own
            names = f"{axis}, dtype" if with_dtype else axis
            metafunc.parametrize(names, _cases(backends, with_dtype))


def _argnames(mark: pytest.Mark) -> list[str]:
    names = mark.args[0]
    return [name.strip() for name in names.split(",")] if isinstance(names, str) else list(names)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("cuda") is None:
        return
    import torch  # only for tests that ask for CUDA

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: torch.cuda.is_available() is False")
    if getattr(item, "callspec", None) and item.callspec.params.get("dtype") == "bfloat16":
        if not torch.cuda.is_bf16_supported():
            pytest.skip("this GPU has no bfloat16")
