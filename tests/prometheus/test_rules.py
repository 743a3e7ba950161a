"""`seclo slo rules`: generated Prometheus rules pass promtool, and their unit tests prove each alert."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from promtool_helpers import check_and_test, promtool

from seclo.cli import main
from seclo.prometheus import names
from seclo.prometheus.rules import build_rules
from seclo.slo.loader import load_slo_documents
from seclo.workspace import init_workspace


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _slo(
    name: str,
    indicator: str,
    *,
    window: str = "timeWindow: [{duration: 28d, isRolling: true}]",
    target: float = 0.99,
    annotations: str = "{}",
    budgeting: str = "Occurrences",
    objectives: str = "",
) -> str:
    """An OpenSLO SLO with the indicator spec `indicator` (one line of flow YAML)."""
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}, displayName: {name} objective, annotations: {annotations}}}
spec:
  service: shop
  indicator: {{metadata: {{name: {name}}}, spec: {indicator}}}
  {window}
  budgetingMethod: {budgeting}
  objectives: {objectives or f"[{{target: {target}}}]"}
"""


SECLO_EVENTS = (
    "{ratioMetric: {rawType: success, raw: {metricSource: {type: seclo, spec: {indicator: login_success}}}}}"
)
SECLO_SNAPSHOT = (
    "{ratioMetric: {rawType: success, raw: {metricSource: {type: seclo, spec: {indicator: mfa_coverage}}}}}"
)
PROM_COUNTERS = (
    "{ratioMetric: {good: {metricSource: {type: Prometheus, spec: {query: 'checkout_ok_total{env=\"prod\"}'}}},"
    " total: {metricSource: {type: Prometheus, spec: {query: 'checkout_total{env=\"prod\"}'}}}}}"
)
PROM_BAD_GAUGES = (
    "{ratioMetric: {counter: false, bad: {metricSource: {type: prometheus, spec: {query: tls_expired_certs}}},"
    " total: {metricSource: {type: prometheus, spec: {query: tls_certs}}}}}"
)
PROM_RAW = "{ratioMetric: {rawType: failure, raw: {metricSource: {type: prometheus, spec: {query: waf_block_ratio}}}}}"
PROM_TEMPLATE = (
    "{ratioMetric: {bad: {metricSource: {type: prometheus, spec: {query: 'sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))'}}},"
    " total: {metricSource: {type: prometheus, spec: {query: 'sum(rate(http_requests_total[{{ .window }}]))'}}}}}"
)
SQL = "{ratioMetric: {good: {metricSource: {type: sql, spec: {query: 'SELECT 1'}}}, total: {metricSource: {type: sql, spec: {query: 'SELECT 1'}}}}}"


def _workspace(root: Path, files: dict[str, str]) -> Path:
    (root / "slos").mkdir(parents=True)
    for name, text in files.items():
        (root / "slos" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def test_starter_slos_pass_promtool_check_and_their_unit_tests(tmp_path: Path) -> None:
    """The rules for the SLOs `seclo init` writes load in Prometheus, and every alert fires at 1.01x its
    factor and stays silent at 0.99x, in promtool's own evaluation."""
    init_workspace(tmp_path / "ws")
    catalog = load_slo_documents(tmp_path / "ws" / "slos")
    written = check_and_test(tmp_path / "rules", catalog.objectives)
    assert len(written) == 5  # login-success is Timeslices: skipped
    tests = yaml.safe_load(written[0][1].read_text(encoding="utf-8"))["tests"]
    names_ = [t["name"] for t in tests]
    assert sum("fires at 1.01x" in n for n in names_) == 4
    assert sum("stays silent at 0.99x" in n for n in names_) == 4


def test_cli_writes_one_file_that_promtool_accepts_and_lists_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`seclo slo rules --out` writes the whole workspace's rules atomically, names skipped objectives with
    the reason on stderr and in the file, and promtool checks the file clean."""
    init_workspace(tmp_path)
    out = tmp_path / "prometheus" / "seclo.rules.yaml"
    assert _run(["slo", "rules", "--workspace", str(tmp_path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped login-success objective 0: Timeslices budgeting" in err
    text = out.read_text(encoding="utf-8")
    assert "# skipped login-success objective 0: Timeslices budgeting" in text
    checked = promtool("check", "rules", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 85 rules found" in checked.stdout
    groups = [g["name"] for g in yaml.safe_load(text)["groups"]]
    assert "seclo-slo-mfa-coverage" in groups
    assert "seclo-slo-mfa-coverage-period" in groups


def test_cli_prints_to_stdout_and_its_tests_file_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --out the rules go to stdout; --tests writes a promtool test file naming the rule file."""
    _workspace(tmp_path, {"checkout": _slo("checkout", PROM_COUNTERS)})
    assert _run(["slo", "rules", "-w", str(tmp_path)]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["groups"][0]["name"] == "seclo-slo-checkout"
    rules, tests = tmp_path / "out" / "rules.yaml", tmp_path / "tests.yaml"
    assert _run(["slo", "rules", "-w", str(tmp_path), "--out", str(rules), "--tests", str(tests)]) == 0
    assert yaml.safe_load(tests.read_text(encoding="utf-8"))["rule_files"] == ["out/rules.yaml"]
    tested = promtool("test", "rules", tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_tests_without_out_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--tests needs --out, since the tests load the rule file by its path."""
    _workspace(tmp_path, {"checkout": _slo("checkout", PROM_COUNTERS)})
    assert _run(["slo", "rules", "-w", str(tmp_path), "--tests", str(tmp_path / "t.yaml")]) == 2
    assert "--tests needs --out" in capsys.readouterr().err


def test_sources_windows_and_periods_pass_promtool(tmp_path: Path) -> None:
    """Prometheus counters, gauges and raw ratios, seclo events and snapshots, calendar and rolling windows
    of 1d to 1Q: all pass promtool check and their generated unit tests."""
    files = {
        "checkout": _slo("checkout", PROM_COUNTERS, window="timeWindow: [{duration: 30d, isRolling: true}]"),
        "certs": _slo(
            "certs", PROM_BAD_GAUGES, target=0.999, window="timeWindow: [{duration: 7d, isRolling: true}]"
        ),
        "waf": _slo(
            "waf",
            PROM_RAW,
            target=0.95,
            window="timeWindow: [{duration: 1M, calendar: {startTime: '2024-01-01 00:00:00', timeZone: Europe/Berlin}}]",
        ),
        "logins": _slo(
            "logins", SECLO_EVENTS, target=0.995, window="timeWindow: [{duration: 1d, isRolling: true}]"
        ),
        "mfa": _slo(
            "mfa",
            SECLO_SNAPSHOT,
            target=0.9,
            window="timeWindow: [{duration: 1Q, calendar: {startTime: '2024-01-01 00:00:00', timeZone: UTC}}]",
        ),
    }
    catalog = load_slo_documents(_workspace(tmp_path / "ws", files) / "slos")
    check_and_test(tmp_path / "rules", catalog.objectives)


def test_factors_follow_the_period_and_long_windows_are_dropped(tmp_path: Path) -> None:
    """A 30d SLO pages at 14.4x and 6x and tickets at 3x and 1x; a 1d SLO keeps only the windows that fit
    in a day, as `seclo slo status` does; a calendar month is taken as 30 days."""
    files = {
        "thirty": _slo("thirty", SECLO_EVENTS, window="timeWindow: [{duration: 30d, isRolling: true}]"),
        "day": _slo("day", SECLO_EVENTS, window="timeWindow: [{duration: 1d, isRolling: true}]"),
        "month": _slo(
            "month",
            SECLO_EVENTS,
            window="timeWindow: [{duration: 1M, calendar: {startTime: '2024-01-01 00:00:00', timeZone: UTC}}]",
        ),
    }
    rule_set = build_rules(load_slo_documents(_workspace(tmp_path, files) / "slos").objectives)
    by_slo = {r.objective.slo_name: r for r in rule_set.objectives}
    factors = [(a.labels["long_window"], a.labels["burn_factor"]) for a in by_slo["thirty"].alerts[:-1]]
    assert factors == [("1h", "14.4"), ("6h", "6"), ("1d", "3"), ("3d", "1")]
    assert [a.labels["long_window"] for a in by_slo["day"].alerts[:-1]] == ["1h", "6h", "1d"]
    assert by_slo["month"].period_window == "30d"
    assert by_slo["month"].alerts[0].labels["burn_factor"] == "14.4"


def test_tiers_runbook_and_labels_for_alertmanager(tmp_path: Path) -> None:
    """seclo/alert-tiers switches tiers off (none: no alert at all), and alerts carry severity, slo,
    service, objective, the windows, the factor and the runbook URL from seclo/runbook-url."""
    files = {
        "paged": _slo(
            "paged",
            SECLO_EVENTS,
            annotations='{seclo/alert-tiers: page, seclo/runbook-url: "https://runbooks.example/logins"}',
        ),
        "quiet": _slo("quiet", SECLO_EVENTS, annotations='{seclo/alert-tiers: "none"}'),
        "tickets": _slo("tickets", SECLO_EVENTS, annotations='{seclo/alert-tiers: "ticket"}'),
    }
    rule_set = build_rules(load_slo_documents(_workspace(tmp_path, files) / "slos").objectives)
    by_slo = {r.objective.slo_name: r for r in rule_set.objectives}
    paged = by_slo["paged"].alerts
    assert [a.alert for a in paged] == [names.ALERT_PAGE, names.ALERT_PAGE, names.ALERT_ABSENT]
    assert paged[0].labels == {
        "severity": "page",
        "slo": "paged",
        "service": "shop",
        "objective": "0",
        "long_window": "1h",
        "short_window": "5m",
        "burn_factor": "13.44",
    }
    assert all(a.annotations["runbook_url"] == "https://runbooks.example/logins" for a in paged)
    assert "summary" in paged[0].annotations
    assert by_slo["quiet"].alerts == ()
    assert {a.labels["severity"] for a in by_slo["tickets"].alerts} == {"ticket"}
    assert "runbook_url" not in by_slo["tickets"].alerts[0].annotations


def test_what_promql_cannot_express_is_skipped_with_the_reason(tmp_path: Path) -> None:
    """sql sources, Timeslices budgeting, thresholdMetric and queries without a window are skipped, each
    with a reason, and the other objectives are still written."""
    threshold = "{thresholdMetric: {metricSource: {type: prometheus, spec: {query: 'up'}}}}"
    unwindowed = (
        "{ratioMetric: {counter: true, good: {metricSource: {type: prometheus, spec: {query: 'sum(ok_total)'}}},"
        " total: {metricSource: {type: prometheus, spec: {query: 'sum(all_total)'}}}}}"
    )
    files = {
        "sql": _slo("sql", SQL),
        "sliced": _slo(
            "sliced",
            SECLO_EVENTS,
            budgeting="Timeslices",
            objectives="[{target: 0.95, timeSliceTarget: 0.9, timeSliceWindow: 5m}]",
        ),
        "threshold": _slo("threshold", threshold, objectives="[{target: 0.9, op: lt, value: 1}]"),
        "unwindowed": _slo("unwindowed", unwindowed),
        "fine": _slo("fine", PROM_COUNTERS),
    }
    rule_set = build_rules(load_slo_documents(_workspace(tmp_path, files) / "slos").objectives)
    reasons = {s.slo: s.reason for s in rule_set.skipped}
    assert set(reasons) == {"sql", "sliced", "threshold", "unwindowed"}
    assert "store" in reasons["sql"]
    assert "Timeslices" in reasons["sliced"]
    assert "thresholdMetric" in reasons["threshold"]
    assert "{{.window}}" in reasons["unwindowed"]
    assert [r.objective.slo_name for r in rule_set.objectives] == ["fine"]


def test_window_placeholder_is_replaced_in_every_recording_rule(tmp_path: Path) -> None:
    """A query with {{.window}} (any spacing) gets each window; promtool computes the ratio from it."""
    rules_dir = _workspace(tmp_path, {"api": _slo("api", PROM_TEMPLATE)})
    rule_set = build_rules(load_slo_documents(rules_dir / "slos").objectives)
    rules = tmp_path / "rules.yaml"
    from seclo.prometheus.rule_file import render_rule_file  # noqa: PLC0415

    rules.write_text(render_rule_file(rule_set), encoding="utf-8")
    groups = yaml.safe_load(rules.read_text(encoding="utf-8"))["groups"]
    by_record = {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}
    assert by_record["slo:error_ratio:rate6h"] == (
        'sum(sum(rate(http_requests_total{code=~"5.."}[6h]))) / sum(sum(rate(http_requests_total[6h])))'
    )
    assert "{{" not in by_record["slo:error_ratio:rate28d"]
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'http_requests_total{code="200"}', "values": "0+63x60"},
                    {"series": 'http_requests_total{code="503"}', "values": "0+1x60"},
                ],
                "promql_expr_test": [
                    {
                        "expr": 'round(1e6 * slo:error_ratio:rate5m{slo="api"})',
                        "eval_time": "60m",
                        "exp_samples": [
                            {"labels": '{slo="api",service="shop",objective="0"}', "value": 15625}
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test), encoding="utf-8")
    tested = promtool("test", "rules", tmp_path / "test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
