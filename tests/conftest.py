"""Shared pytest configuration for tests/."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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
