"""README's performance figures are those of the committed benchmark runs (softmax_lib/checks/results/).

The chapters glue the same figures from the same files, so README, chapters and runs cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from softmax_lib.checks.timing import benchmark_run

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
GOAL_ROWS = {  # goal in speed.json → (ours, against) as README's table names them
    ("softmax", "scipy"): ("`softmax`", "`scipy.special.softmax`"),
    ("softmax", "torch"): ("`softmax`", "`torch.softmax`"),
    ("cross_entropy", "torch"): ("`cross_entropy`", "torch `cross_entropy` forward"),
    ("cross_entropy_grad", "torch fwd+bwd"): ("`cross_entropy_grad`", "torch forward + backward"),
    ("loss+grad", "torch fwd+bwd"): ("`cross_entropy_with_grad`", "torch forward + backward"),
}


def spread(ratio: dict) -> str:
    return f"{ratio['median']:.2f} [{ratio['min']:.2f}–{ratio['max']:.2f}]"


def table_row(*cells: str) -> str:
    """The README table line that starts with these cells."""
    start = "| " + " | ".join(cells) + " |"
    rows = [line for line in README.splitlines() if line.startswith(start)]
    assert len(rows) == 1, f"README has {len(rows)} rows starting {start!r}"
    return rows[0]


@pytest.mark.parametrize("run", ["speed", "linear_cross_entropy"])
def test_readme_names_the_run(run):
    result = benchmark_run(run)
    assert f"`{result['command']}`" in README
    assert result["date_utc"] in README


def test_speed_goals_match_the_run():
    goals = benchmark_run("speed")["goals"]
    assert {(g["op"], g["other"]) for g in goals} == set(GOAL_ROWS)
    for goal in goals:
        row = table_row(*GOAL_ROWS[goal["op"], goal["other"]])
        assert f"| {spread(goal['ratio'])} |" in row, (row, goal)
        assert row.split("|")[5].strip().startswith(goal["verdict"].split(" (")[0].split(":")[0]), (row, goal)


def test_linear_cross_entropy_figures_match_the_run():
    for case in benchmark_run("linear_cross_entropy")["cases"]:
        row = table_row(f"{case['v']:,}".replace(",", " "))
        mb = {name: f"{size / 2**20:.0f} MB" for name, size in case["extra_peak_bytes"].items()}
        assert f"{mb['softmax_lib']} / {mb['torch']} = {case['memory_ratio']:.3f}" in row, row
        assert spread(case["time_ratio"]) in row, row


def test_a_changed_figure_is_caught():
    goal = benchmark_run("speed")["goals"][0]
    wrong = dict(goal["ratio"], median=goal["ratio"]["median"] + 0.01)
    assert f"| {spread(wrong)} |" not in table_row(*GOAL_ROWS[goal["op"], goal["other"]])
