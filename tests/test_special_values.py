"""README's special-values table, parsed and run: every row through every path and through PyTorch.

Each body row of the table gives an input row as a code span and, per column, what every path
must return for it: "all NaN", or a code span with a number or a list. A printed number with a
decimal point stands for every value within half a unit of its last digit; one without
(0, 1, -1, 1e308, inf, nan) must be met exactly. "(torch: `x`)" in a cell gives PyTorch's own
answer where it differs from softmax_lib's. So the documentation cannot drift from the library:
a changed value, a new row or a new column without a check fails here.
"""

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy_paths import blocked_everywhere

import softmax_lib as sl
import softmax_lib._softmax

README = Path(__file__).resolve().parent.parent / "README.md"
COLUMNS = [
    "input row",
    "softmax",
    "log_softmax",
    "logsumexp",
    "loss, target 1",
    "gradient, target 1",
    "loss, target `[0, 0.5, 0.5]`",
    "sparsemax",
]
PROBABILITY_TARGET = [0.0, 0.5, 0.5]
# A finite row in the same batch: it must come out as if computed alone.
OTHER_ROW = [0.5, -1.0, 2.0]


def table_rows() -> list[dict[str, str]]:
    """The body rows of the table under "**Special values.**", as {column header: cell text}."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Special values.**") :]
    lines = [line for line in section.splitlines()[:40] if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == COLUMNS, f"README's special-values table has columns {header}; this test checks {COLUMNS}"
    rows = [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]
    assert len(rows) >= 7
    return rows


def parse_values(code: str) -> list[str]:
    """`[nan, 0, 1]` or `1.31` → the printed numbers, as strings."""
    return [item.strip() for item in code.strip("[]").split(",")]


def expectation(cell: str, n_classes: int) -> tuple[list[str], list[str] | None]:
    """(softmax_lib's printed values, torch's where the cell says it differs, else None)."""
    torch_value = None
    if match := re.search(r"\(torch: `([^`]*)`", cell):
        torch_value = parse_values(match.group(1))
        cell = cell[: match.start()]
    if cell.startswith("all NaN"):
        return ["nan"] * n_classes, torch_value
    return parse_values(re.search(r"`([^`]*)`", cell).group(1)), torch_value


def assert_matches(name: str, actual, printed: list[str]) -> None:
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().cpu()
    actual = np.atleast_1d(np.asarray(actual, np.float64))
    assert actual.shape == (len(printed),), f"{name}: shape {actual.shape}, README shows {printed}"
    for value, text in zip(actual, printed):
        expected = float(text)
        if np.isnan(expected) or np.isinf(expected) or not re.search(r"\.\d", text):
            assert value == expected or (np.isnan(value) and np.isnan(expected)), f"{name}: {actual}, README: {printed}"
        else:
            # Half a unit in the last printed digit: the rounding the table shows.
            half_unit = 0.5 * 10.0 ** Decimal(text).as_tuple().exponent
            assert abs(value - expected) <= half_unit, f"{name}: {actual}, README: {printed}"


def numpy_paths(func, z: np.ndarray, blocked=None):
    """func on the small path, with the blocked kernels forced, on a Fortran-ordered copy, and `blocked` itself."""
    yield "", func(z)
    with blocked_everywhere():
        yield " (blocked path)", func(z)
    yield " (Fortran order)", func(np.asfortranarray(z))
    if blocked is not None:
        yield f" ({blocked.__name__})", blocked(z)


def results(column: str, z: np.ndarray):
    """(path name, result for the whole batch) for each path that computes `column`."""
    zt = torch.as_tensor(z)
    index = np.array([1, 1])
    y = np.array([PROBABILITY_TARGET, PROBABILITY_TARGET])
    if column == "softmax":
        yield from numpy_paths(sl.softmax, z, sl.blocked_softmax)
        yield "online_softmax", sl.online_softmax(z, chunk_size=1)
        yield "streaming_softmax", np.concatenate(list(sl.streaming_softmax([z[:, :2], z[:, 2:]])), axis=-1)
        yield "torch tensor", sl.softmax(zt)
    elif column == "log_softmax":
        yield from numpy_paths(sl.log_softmax, z, sl.blocked_log_softmax)
        yield "torch tensor", sl.log_softmax(zt)
    elif column == "logsumexp":
        yield from numpy_paths(sl.logsumexp, z, sl.blocked_logsumexp)
        yield "online_logsumexp", sl.online_logsumexp(z, chunk_size=1)
        yield "streaming_logsumexp", sl.streaming_logsumexp([z[:, :2], z[:, 2:]])
        yield "torch tensor", sl.logsumexp(zt)
    elif column in ("loss, target 1", "loss, target `[0, 0.5, 0.5]`"):
        target = index if column == "loss, target 1" else y
        yield from numpy_paths(lambda a: sl.cross_entropy(a, target, reduction="none"), z)
        yield "cross_entropy_with_grad", sl.cross_entropy_with_grad(z, target, reduction="none")[0]
        yield "torch tensor", sl.cross_entropy(zt, torch.as_tensor(target), reduction="none")
    elif column == "gradient, target 1":
        yield from numpy_paths(lambda a: sl.cross_entropy_grad(a, index, reduction="none"), z)
        yield "cross_entropy_with_grad", sl.cross_entropy_with_grad(z, index, reduction="none")[1]
        yield "torch tensor", sl.cross_entropy_grad(zt, torch.as_tensor(index), reduction="none")
    elif column == "sparsemax":
        yield from numpy_paths(sl.sparsemax, z)
        yield "torch tensor", sl.sparsemax(zt)
    else:
        raise AssertionError(f"no check for README column {column!r}")


def torch_result(column: str, z: np.ndarray):
    """PyTorch's own answer for `column`, or None where torch has no such function."""
    zt = torch.as_tensor(z).requires_grad_(column == "gradient, target 1")
    index = torch.tensor([1, 1])
    if column == "softmax":
        return torch.softmax(zt, -1)
    if column == "log_softmax":
        return torch.log_softmax(zt, -1)
    if column == "logsumexp":
        return torch.logsumexp(zt, -1)
    if column == "loss, target 1":
        return F.cross_entropy(zt, index, reduction="none")
    if column == "loss, target `[0, 0.5, 0.5]`":
        return F.cross_entropy(zt, torch.tensor([PROBABILITY_TARGET] * 2, dtype=zt.dtype), reduction="none")
    if column == "gradient, target 1":
        F.cross_entropy(zt, index, reduction="sum").backward()
        return zt.grad
    return None


ROWS = table_rows()


@pytest.mark.filterwarnings("error")  # the table says no input warns
@pytest.mark.parametrize("row", ROWS, ids=[row["input row"].split("`")[1] for row in ROWS])
@pytest.mark.parametrize("column", COLUMNS[1:])
def test_readme_special_values_row(row, column):
    special = [float(text) for text in parse_values(row["input row"].split("`")[1])]
    z = np.array([special, OTHER_ROW])
    ours, torch_differs = expectation(row[column], len(special))
    alone = None
    for path, out in results(column, z):
        out = np.asarray(out.cpu() if isinstance(out, torch.Tensor) else out)
        assert_matches(f"{column}{path}", out[0], ours)
        # The special row leaves the other row of the batch as it is alone.
        alone = next(iter(results(column, np.array([OTHER_ROW, OTHER_ROW]))))[1][0] if alone is None else alone
        np.testing.assert_array_equal(out[1], alone, err_msg=f"{column}{path}: the other row changed")
    reference = torch_result(column, z)
    if reference is not None:
        assert_matches(f"torch's {column}", reference[0], torch_differs or ours)


def test_every_column_and_the_probability_target_difference_are_documented():
    # The one documented disagreement with torch is the masked class that a probability target ignores.
    differing = [(row["input row"], column) for row in ROWS for column in COLUMNS[1:] if "(torch:" in row[column]]
    assert differing == [("`[-inf, 0, 1]`: a masked class (−inf, finite max)", "loss, target `[0, 0.5, 0.5]`")]
