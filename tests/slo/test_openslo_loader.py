"""Loading OpenSLO v1 files: the project's own examples, seclo's sources, and errors that point at the problem."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from seclo.errors import ConfigError
from seclo.slo.loader import load_slo_documents, load_slo_files
from seclo.slo.openslo import PrometheusIndicator, SecloIndicator, SqlIndicator, UnsupportedIndicator

EXAMPLES = Path(__file__).parent.parent / "fixtures" / "openslo"

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: identity
  indicatorRef: logins
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
"""

SLI = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: logins
spec:
  ratioMetric:
    rawType: success
    raw:
      metricSource:
        type: seclo
        spec:
          indicator: login_success
          params: {window: 5m}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def error_of(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_slo_documents(folder)
    return str(caught.value)


@pytest.mark.parametrize(
    "files",
    [
        ["budgeting-method/occurences-slo.yaml"],
        ["budgeting-method/ratio-timeslices.yaml"],
        ["budgeting-method/timeslices-slo.yaml"],
        ["v1/slos.yaml"],
        ["v1/slis.yaml"],
        ["v1/alert_policies.yaml", "v1/alert_conditions.yaml"],
    ],
)
def test_openslo_project_examples_load_unchanged(files: list[str]) -> None:
    """Every copied example of the OpenSLO project loads as it is."""
    catalog = load_slo_files([EXAMPLES / name for name in files])
    assert catalog.objectives or catalog.indicators or catalog.alert_policies


def test_openslo_example_values_are_read() -> None:
    """The Timeslices example yields two objectives with slice target, 1-minute slices and a New York calendar."""
    catalog = load_slo_files([EXAMPLES / "budgeting-method/timeslices-slo.yaml"])
    first, second = catalog.objectives
    assert (first.target, first.op, first.time_slice_target) == (0.995, "gt", 0.99)
    assert second.display_name == "SLA"
    assert first.time_slice_window == timedelta(minutes=1)
    window = first.time_window
    assert not window.rolling
    assert window.time_zone == "America/New_York"
    assert window.calendar_start is not None
    assert window.calendar_start.utcoffset() == timedelta(hours=-5)
    assert isinstance(first.indicator, UnsupportedIndicator)
    assert "'Any'" in first.indicator.reason


def test_openslo_example_sources_are_classified() -> None:
    """In the SLI examples, Prometheus queries are kept and Datadog or AppDynamics are unsupported with a reason."""
    catalog = load_slo_files([EXAMPLES / "v1/slis.yaml"])
    kinds = {i.name: type(i) for i in catalog.indicators}
    assert kinds["search-availability"] is UnsupportedIndicator
    assert kinds["wifi-client-satisfaction"] is PrometheusIndicator
    assert kinds["annotator-throughput"] is PrometheusIndicator


def test_seclo_source_resolves_through_indicator_ref(tmp_path: Path) -> None:
    """An SLO's indicatorRef finds an SLI in another file and keeps the catalog name and parameters."""
    write(tmp_path, "slo.yaml", SLO.format(name="login-success"))
    write(tmp_path, "sli.yml", SLI)
    (objective,) = load_slo_documents(tmp_path).objectives
    assert objective.indicator == SecloIndicator("logins", "login_success", {"window": "5m"})
    assert objective.budgeting == "Occurrences"
    assert objective.time_window.duration.to_timedelta() == timedelta(days=28)


def test_sql_ratio_source_keeps_both_queries(tmp_path: Path) -> None:
    """A sql ratioMetric keeps the good and total queries, and targetPercent becomes a fraction."""
    write(
        tmp_path,
        "sql.yaml",
        """\
        apiVersion: openslo/v1
        kind: SLO
        metadata: {name: mfa}
        spec:
          service: identity
          indicator:
            metadata: {name: mfa-sql}
            spec:
              ratioMetric:
                good: {metricSource: {type: sql, spec: {query: "select 1"}}}
                total: {metricSource: {type: sql, spec: {query: "select 2"}}}
          budgetingMethod: Occurrences
          objectives:
            - targetPercent: 98
        """,
    )
    (objective,) = load_slo_documents(tmp_path).objectives
    assert objective.indicator == SqlIndicator("mfa-sql", "good_total", "select 1", "select 2")
    assert objective.target == pytest.approx(0.98)


def test_multi_document_file_and_alert_policy_ref(tmp_path: Path) -> None:
    """Documents separated by --- load together, and an alertPolicyRef is resolved with its condition."""
    policy = """\
        apiVersion: openslo/v1
        kind: AlertPolicy
        metadata: {name: page-on-fast-burn}
        spec:
          alertWhenBreaching: true
          conditions:
            - kind: AlertCondition
              metadata: {name: fast-burn}
              spec:
                severity: page
                condition: {kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 5m}
          notificationTargets:
            - targetRef: security-on-call
        """
    slo = SLO.format(name="login-success") + "  alertPolicies:\n    - alertPolicyRef: page-on-fast-burn\n"
    write(tmp_path, "all.yaml", "---\n".join([dedent(policy), SLI, slo]))
    (objective,) = load_slo_documents(tmp_path).objectives
    (policy_obj,) = objective.alert_policies
    assert policy_obj.notification_targets == ("security-on-call",)
    assert policy_obj.conditions[0].threshold == 14.4
    assert policy_obj.conditions[0].lookback_window == timedelta(hours=1)


def test_error_in_later_document_names_its_line(tmp_path: Path) -> None:
    """An error in the third document of a file names that document and a line inside it."""
    bad = SLO.format(name="login-success").replace("target: 0.99", "target: 1.5")
    write(tmp_path, "all.yaml", "---\n".join([SLI, SLO.format(name="other"), bad]))
    message = error_of(tmp_path)
    lines = (SLI + "---\n" + SLO.format(name="other") + "---\n" + bad).splitlines()
    expected_line = next(i for i, text in enumerate(lines, start=1) if "target: 1.5" in text)
    assert f"all.yaml:{expected_line}: document 3: spec.objectives[0].target: " in message
    assert "less than 1" in message


@pytest.mark.parametrize(
    ("old", "new", "where", "expected"),
    [
        (
            "  service: identity",
            "  service: identity\n  servce: typo",
            ":7: spec.servce:",
            "Extra inputs are not permitted",
        ),
        ("  objectives:\n    - target: 0.99", "  objectives: many", ":12: spec.objectives:", "valid list"),
        ("duration: 28d", "duration: 28 days", ":9: spec.timeWindow[0].duration:", "expected a duration"),
        ("duration: 28d", "duration: 1M", ":9: spec.timeWindow[0]:", "rolling window needs a fixed length"),
        ("target: 0.99", "target: 0", ":13: spec.objectives[0].target:", "greater than 0"),
        ("target: 0.99", "targetPercent: 100", ":13: spec.objectives[0].targetPercent:", "less than 100"),
        ("target: 0.99", "displayName: none", ":13: spec.objectives[0]:", "exactly one of target"),
        ("indicatorRef: logins", "indicatorRef: nope", ":7: spec.indicatorRef:", "got 'nope'; known: logins"),
        (
            "budgetingMethod: Occurrences",
            "budgetingMethod: Timeslices",
            ":13: spec.objectives[0]:",
            "timeSliceTarget",
        ),
    ],
)
def test_invalid_slo_names_file_line_and_path(
    tmp_path: Path, old: str, new: str, where: str, expected: str
) -> None:
    """Each kind of mistake is reported with the file, the line, the YAML path and what was expected."""
    text = SLO.format(name="login-success")
    assert old in text
    write(tmp_path, "slo.yaml", text.replace(old, new))
    write(tmp_path, "sli.yaml", SLI)
    message = error_of(tmp_path)
    assert f"slo.yaml{where}" in message
    assert expected in message


def test_duplicate_name_points_at_both_definitions(tmp_path: Path) -> None:
    """Two SLOs with one name are refused, naming the second and where the first was defined."""
    write(tmp_path, "a.yaml", SLO.format(name="same"))
    write(tmp_path, "b.yaml", SLO.format(name="same"))
    write(tmp_path, "sli.yaml", SLI)
    message = error_of(tmp_path)
    assert re.search(
        r"b\.yaml:4: metadata\.name: expected a unique name, but SLO 'same' is already defined at .*a\.yaml:4",
        message,
    )


def test_list_of_documents_error_path_has_index(tmp_path: Path) -> None:
    """In a file that is a YAML list of documents, the path starts with the list index."""
    write(
        tmp_path,
        "list.yaml",
        """\
        - apiVersion: openslo/v1
          kind: Service
          metadata: {name: identity}
        - apiVersion: openslo/v1
          kind: Servise
          metadata: {name: oops}
        """,
    )
    message = error_of(tmp_path)
    assert "list.yaml:5: [1].kind: expected one of SLO, SLI, Service" in message


def test_seclo_source_params_are_checked_for_shape(tmp_path: Path) -> None:
    """A seclo source without an indicator name is refused at its spec."""
    write(tmp_path, "sli.yaml", SLI.replace("indicator: login_success", "indicatr: login_success"))
    message = error_of(tmp_path)
    assert "sli.yaml:12: spec.ratioMetric.raw.metricSource.spec.indicator: Field required" in message


def test_seclo_source_outside_raw_is_refused(tmp_path: Path) -> None:
    """A seclo source used as a threshold metric is refused with the convention spelled out."""
    write(
        tmp_path,
        "sli.yaml",
        """\
        apiVersion: openslo/v1
        kind: SLI
        metadata: {name: logins}
        spec:
          thresholdMetric:
            metricSource: {type: seclo, spec: {indicator: login_success}}
        """,
    )
    assert (
        "spec.thresholdMetric: expected a seclo source under ratioMetric.raw with rawType: success"
        in error_of(tmp_path)
    )


CALENDAR = """\
  timeWindow:
    - duration: 1M
      calendar:
        startTime: 2024-01-01 00:00:00
        timeZone: {zone}
"""


def test_calendar_window_with_time_zone(tmp_path: Path) -> None:
    """A calendar month window starts at local midnight in its zone and is not rolling by default."""
    text = SLO.format(name="s").replace(
        "  timeWindow:\n    - duration: 28d\n      isRolling: true\n", CALENDAR.format(zone="Europe/Paris")
    )
    write(tmp_path, "slo.yaml", text)
    write(tmp_path, "sli.yaml", SLI)
    window = load_slo_documents(tmp_path).objectives[0].time_window
    assert not window.rolling
    assert window.duration.months == 1
    assert window.calendar_start is not None
    assert window.calendar_start.isoformat() == "2024-01-01T00:00:00+01:00"


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    """A time zone missing from the IANA database is refused at its line."""
    text = SLO.format(name="s").replace(
        "  timeWindow:\n    - duration: 28d\n      isRolling: true\n", CALENDAR.format(zone="Mars/Olympus")
    )
    write(tmp_path, "slo.yaml", text)
    write(tmp_path, "sli.yaml", SLI)
    message = error_of(tmp_path)
    assert "slo.yaml:12: spec.timeWindow[0].calendar.timeZone: expected an IANA time zone" in message


def test_calendar_start_with_offset_is_refused(tmp_path: Path) -> None:
    """A calendar start with its own UTC offset is refused: the zone belongs in timeZone."""
    text = SLO.format(name="s").replace(
        "  timeWindow:\n    - duration: 28d\n      isRolling: true\n", CALENDAR.format(zone="UTC")
    )
    write(tmp_path, "slo.yaml", text.replace("2024-01-01 00:00:00", "2024-01-01 00:00:00+02:00"))
    write(tmp_path, "sli.yaml", SLI)
    assert "slo.yaml:11: spec.timeWindow[0].calendar.startTime: expected a local date and time" in error_of(
        tmp_path
    )


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """A file that is not YAML is reported with its line."""
    write(tmp_path, "bad.yaml", "kind: SLO\nmetadata: [unclosed\n")
    assert re.search(r"bad\.yaml:\d+: not valid YAML", error_of(tmp_path))


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    """A workspace without slos/ gives a ConfigError with a tip to run seclo init."""
    with pytest.raises(ConfigError) as caught:
        load_slo_documents(tmp_path / "slos")
    assert caught.value.tip is not None
    assert "seclo init" in caught.value.tip
