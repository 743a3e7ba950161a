"""Deployments and incidents: commits precede deployments, incident stages follow each other, losses differ."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from seclo.generate.deployments import LEAD_TIME_MEDIAN_HOURS, Deployments, generate_deployments
from seclo.generate.incidents import generate_incidents
from seclo.generate.period import Period, from_datetime
from seclo.generate.randomness import Streams
from seclo.generate.scenario import Scenario, plan_scenario

END = datetime(2025, 6, 4, 15, 30)
PERIOD = Period.ending(END, 180)


@pytest.fixture(scope="module")
def deployments() -> Deployments:
    """Half a year of deployments."""
    return generate_deployments(Streams(5).rng("deployments"), PERIOD)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """The headline attack and degradation of the period."""
    return plan_scenario(Streams(5).rng("scenario"), PERIOD)


@pytest.fixture(scope="module")
def incidents(deployments: Deployments, scenario: Scenario) -> pa.Table:
    """The incident history and the period's incidents."""
    return generate_incidents(Streams(5).rng("incidents"), PERIOD, deployments, scenario)


def _us(table: pa.Table, column: str) -> npt.NDArray[np.float64]:
    """Microseconds since the epoch, NaN where empty."""
    values = table.column(column).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def test_commits_are_made_before_their_deployment(deployments: Deployments) -> None:
    """Every deployment ships at least one commit, each committed before the deployment finished."""
    rows = deployments.table.to_pylist()
    assert rows
    for row in rows:
        assert row["commits"]
        assert all(commit["committed_at"] < row["finished_at"] for commit in row["commits"])
        assert all(len(commit["sha"]) == 40 for commit in row["commits"])


def test_lead_time_median_is_about_a_day(deployments: Deployments) -> None:
    """The median time from commit to deployment is close to the documented median."""
    leads = [
        (row["finished_at"] - commit["committed_at"]) / timedelta(hours=1)
        for row in deployments.table.to_pylist()
        for commit in row["commits"]
    ]
    assert np.median(leads) == pytest.approx(LEAD_TIME_MEDIAN_HOURS, rel=0.15)


def test_most_deployments_go_to_production_and_some_fail(deployments: Deployments) -> None:
    """Production is the usual target, and a minority of deployments fail."""
    env = np.array(deployments.table.column("env").to_pylist())
    result = np.array(deployments.table.column("result").to_pylist())
    assert 0.6 < (env == "production").mean() < 0.95
    assert 0.02 < (result == "failure").mean() < 0.2


def test_incident_stages_happen_in_order(incidents: pa.Table) -> None:
    """Each incident occurred before it was detected, was acknowledged after that, and resolved last."""
    occurred, detected = _us(incidents, "occurred_at"), _us(incidents, "detected_at")
    acknowledged, resolved = _us(incidents, "acknowledged_at"), _us(incidents, "resolved_at")
    assert np.all(occurred < detected)
    known = ~np.isnan(acknowledged)
    assert np.all(detected[known] <= acknowledged[known])
    done = ~np.isnan(resolved)
    assert np.all(acknowledged[done] <= resolved[done])
    assert np.all(np.isnan(resolved[~known]))


def test_nothing_is_recorded_after_the_end(incidents: pa.Table) -> None:
    """The tracker knows only what was detected by the end; later stages are empty, not in the future."""
    end = from_datetime(END)
    for column in ("occurred_at", "detected_at", "acknowledged_at", "resolved_at"):
        values = _us(incidents, column)
        assert np.all(values[~np.isnan(values)] < end), column


def test_the_sso_degradation_is_still_open_at_the_end(incidents: pa.Table, scenario: Scenario) -> None:
    """The SSO degradation the auth events show is a critical outage, unresolved and with no loss yet."""
    start = scenario.degradation.start_us
    (row,) = [r for r in incidents.to_pylist() if from_datetime(r["occurred_at"]) == start]
    assert (row["kind"], row["service"], row["severity"]) == ("outage", "sso", "critical")
    assert row["acknowledged_at"] is not None
    assert row["resolved_at"] is None
    assert row["loss"] is None


def test_outages_are_frequent_and_security_incidents_costly(incidents: pa.Table) -> None:
    """Outages outnumber security incidents, whose typical and worst losses are larger."""
    kind = np.array(incidents.column("kind").to_pylist())
    loss = np.array(incidents.column("loss").to_pylist(), dtype=float)
    security, outage = (
        loss[(kind == "security") & ~np.isnan(loss)],
        loss[(kind == "outage") & ~np.isnan(loss)],
    )
    assert outage.size > 3 * security.size > 0
    assert np.median(security) > np.median(outage)
    assert security.max() > outage.max()


def test_some_outages_name_the_deployment_that_caused_them(
    incidents: pa.Table, deployments: Deployments
) -> None:
    """Outages linked to a deployment name a real one of the same service, which finished before the outage."""
    finished = dict(
        zip(deployments.deploy_ids, deployments.table.column("finished_at").to_pylist(), strict=True)
    )
    service = dict(zip(deployments.deploy_ids, deployments.table.column("service").to_pylist(), strict=True))
    linked = [row for row in incidents.to_pylist() if row["deploy_id"] is not None]
    assert len(linked) > 5
    for row in linked:
        assert row["kind"] == "outage"
        assert finished[row["deploy_id"]] < row["occurred_at"]
        assert service[row["deploy_id"]] == row["service"]
