"""bench/trust.py on a tiny matrix (every run 2 % as long, with 2 % of the energy), so that the benchmark
keeps working; and its figures judged against the targets as the benchmark prints them."""

from __future__ import annotations

import pytest

from bench.trust import TARGETS, Case, cases, main, run_matrix, table, targets_of
from bench.trust_figures import RuntimeCheck, judge, relative_error


def test_the_matrix_covers_the_issue() -> None:
    labels = [case.label for case in cases()]
    for wanted in ("reference week", "3 d 640 Wh", "21 d 2560 Wh", "capacity=80%", "soc-offset=+20%"):
        assert wanted in labels
    for wanted in ("soc-offset=-20%", "no-soc", "current-offset=0.05 A", "deadline earlier", "deadline later"):
        assert wanted in labels
    assert len(labels) == 19
    short = {case.label: case for case in cases(0.5)}
    assert short["reference week"].days == 3.5
    assert short["deadline later"].scenario == "at=42h:deadline=60h"


def test_a_tiny_matrix_runs_and_prints_figures_and_targets(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--scale", "0.02", "--workers", "1", "--only", "reference,capacity,no-soc,earlier"])
    captured = capsys.readouterr()
    for label in ("reference week", "capacity=80%", "no-soc", "deadline earlier"):
        assert label in captured.out
        assert f"] {label}: " in captured.err
    for target in TARGETS:
        assert target in captured.out
    assert "targets met:" in captured.out


def test_the_figures_stay_within_the_physical_limit() -> None:
    matrix = [case for case in cases(0.02) if case.label in ("reference week", "capacity=80%", "no-soc")]
    rows = run_matrix(matrix, "auto", 1)
    by_label = {case.label: row for case, row in rows}
    for _case, row in rows:
        ratio = row["ratio_to_true_bound"]
        assert isinstance(ratio, float)
        assert 0.5 < ratio <= 1.001
    smaller = by_label["capacity=80%"]
    assert smaller["deadline_met"] is True, "the capacity's uncertainty holds back enough for a smaller pack"
    assert smaller["deadline_miss_h"] == 0.0
    no_soc = by_label["no-soc"]
    assert isinstance(no_soc["controller_error_50"], float), "the estimator predicts without the shunt's SoC"
    assert abs(no_soc["controller_error_50"]) < 0.05
    assert no_soc["victron_error_50"] is None, "a Victron-style estimate needs the shunt's SoC"
    reference = by_label["reference week"]
    assert reference["reached_50"] is True
    assert isinstance(reference["victron_error_50"], float)
    lines = table(rows).splitlines()
    assert len(lines) == 1 + len(matrix)
    marks = targets_of(matrix[1], smaller)
    assert marks.alert is not None


def test_targets_apply_only_where_the_issue_says() -> None:
    row: dict[str, object] = {
        "deadline_reachable": True,
        "deadline_met": False,
        "ratio_to_true_bound": 0.99,
        "deadline_h": 168.0,
        "first_alert_h": 100.0,
        "first_warning_h": 150.0,
    }
    plain = judge(row, faulty=False, smaller=False, runtime=(True, 0.02))
    assert (plain.deadline, plain.air, plain.alert, plain.runtime) == (False, True, None, True)
    smaller = judge(row, faulty=True, smaller=True, runtime=(True, None))
    assert (smaller.air, smaller.alert, smaller.runtime) == (None, False, False)
    early = judge({**row, "first_warning_h": 100.0}, faulty=True, smaller=True, runtime=(False, None))
    assert (early.alert, early.runtime) == (True, None)
    unreachable = judge({**row, "deadline_reachable": False}, faulty=False, smaller=False, runtime=(True, 0.05))
    assert (unreachable.deadline, unreachable.runtime) == (None, False)


def test_relative_errors() -> None:
    assert relative_error(110.0, 100.0) == pytest.approx(0.1)
    assert relative_error(None, 100.0) is None
    assert relative_error(100.0, 0.0) is None
    assert RuntimeCheck(0.5, 3.0, 0.01, None).victron_error is None
    assert Case("x", 1.0, 10.0).scenario == "outage"
