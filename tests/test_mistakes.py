"""The mistake × check × dtype table: every plausible wrong implementation fails every registered check
that uses the function it replaces, in float64, float32, float16 and bfloat16, except the cells the
table excuses with a reason (softmax_lib.checks.mistakes)."""

import pytest

from softmax_lib.checks import CASES, DTYPES
from softmax_lib.checks.mistakes import MISTAKES, format_mistake_table, mistake_table


@pytest.fixture(scope="module")
def cells():
    return mistake_table()


def test_every_must_fail_cell_fails(cells):
    missed = [cell for cell in cells if not cell.as_expected]
    assert not missed, "\n" + format_mistake_table(missed)


def test_an_excused_cell_that_fails_is_reported_as_caught(cells):
    # an excuse is a reason a cell may pass, never a reason to hide a failure
    assert "caught" in format_mistake_table([cell for cell in cells if cell.failed][:1])


def test_every_mistake_is_caught_somewhere_in_every_dtype_it_can_be_seen_in(cells):
    assert len(MISTAKES) >= 12
    for mistake in MISTAKES:
        for dtype in DTYPES:
            mine = [cell for cell in cells if cell.mistake == mistake.name and cell.dtype == dtype]
            assert mine, (mistake.name, dtype)
            assert any(cell.failed for cell in mine) or all(cell.excuse for cell in mine), (mistake.name, dtype)


def test_every_case_names_the_functions_it_checks():
    functions = {mistake.function for mistake in MISTAKES}
    for case in CASES:
        assert case.uses and set(case.uses) <= functions, case.name
