"""Alertmanager's webhook payload (version 4), validated, and the records an alert becomes.

The payload is what Alertmanager's webhook_config POSTs (prometheus.io/docs/alerting/latest/configuration,
"webhook_config"). Fields Alertmanager may add later are ignored rather than refused: a receiver that
rejected a newer Alertmanager's payload would lose alerts, and the fields seclo uses are checked strictly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from seclo.errors import InputError

__all__ = [
    "AlertRecord",
    "UnusableAlert",
    "WebhookAlert",
    "WebhookPayload",
    "alert_records",
    "parse_payload",
]

# Alertmanager's zero time: a firing alert whose end is unknown.
_ZERO_YEAR = 1
_SEVERITIES = {
    "critical": "critical",
    "page": "high",
    "high": "high",
    "error": "high",
    "major": "high",
    "warning": "medium",
    "ticket": "medium",
    "medium": "medium",
    "minor": "low",
    "low": "low",
    "info": "low",
    "none": "none",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WebhookAlert(_Model):
    """One alert of a notification."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=128)


class WebhookPayload(_Model):
    """A notification: a group of alerts sent to one receiver."""

    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL")
    alerts: list[WebhookAlert]


def parse_payload(body: bytes) -> tuple[WebhookPayload, object]:
    """The validated payload and the JSON document it came from.

    Raises:
        InputError: the body is not JSON, or not a version 4 payload; the message says where and why.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    try:
        return WebhookPayload.model_validate(document), document
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(part) for part in err["loc"]) or "payload"
            problems.append(f"{where}: {err['msg']}")
        raise InputError("not an Alertmanager webhook payload (version 4): " + "; ".join(problems)) from None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as the store keeps it (table alert_events, and the incident it becomes). Times naive UTC."""

    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    status: str
    alertname: str | None
    severity: str | None
    service: str | None
    slo: str | None
    labels: str
    annotations: str
    generator_url: str
    receiver: str
    received_at: datetime
    incident_id: str
    incident_kind: str
    incident_severity: str
    title: str


@dataclass(frozen=True, slots=True)
class UnusableAlert:
    """An alert of an accepted payload that the store cannot hold: its index, the field at fault and why."""

    index: int
    field: str
    reason: str


class _UnusableError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _naive(moment: datetime, field: str) -> datetime:
    """`moment` as naive UTC; a time whose UTC day falls outside years 1 to 9999 cannot be held."""
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise _UnusableError(
            field, f"{moment.isoformat()} is outside years 1 to 9999 once converted to UTC"
        ) from None


def _text(value: str | None, field: str) -> str | None:
    """`value` unchanged, if it can be stored as UTF-8 (a lone surrogate such as "\\ud800" cannot)."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _UnusableError(
                field, f"not valid Unicode text ({exc.reason} at position {exc.start})"
            ) from None
    return value


def alert_records(
    payload: WebhookPayload, received_at: datetime
) -> tuple[list[AlertRecord], list[UnusableAlert]]:
    """The records of every alert of the payload, and the alerts that cannot be stored, with the reason.

    An alert is one firing from its start: its key is (fingerprint, startsAt), so a notification sent again
    maps to the same record. The incident is detected when the alert started; it is resolved at endsAt once
    a resolved notification arrives. Its kind is the alert's `kind` label when that is security or outage,
    else security; its severity maps the `severity` label (page: high, ticket or warning: medium...).

    An alert whose times fall outside years 1 to 9999 in UTC (such as `0001-01-01T00:30:00+01:00`), or whose
    text is not valid Unicode, is valid JSON and a valid payload, yet no TIMESTAMP or VARCHAR can hold it: it
    is returned as unusable, so the caller records it as rejected and stores the payload's other alerts.

    Raises:
        ValueError: `received_at` cannot be converted to UTC.
    """
    received = _naive(received_at, "received_at")
    records: list[AlertRecord] = []
    unusable: list[UnusableAlert] = []
    for index, alert in enumerate(payload.alerts):
        try:
            records.append(_record(payload, alert, index, received))
        except _UnusableError as exc:
            unusable.append(UnusableAlert(index, exc.field, exc.reason))
    return records, unusable


def _record(payload: WebhookPayload, alert: WebhookAlert, index: int, received: datetime) -> AlertRecord:
    where = f"alerts.{index}."
    starts = _naive(alert.starts_at, where + "startsAt")
    # Alertmanager's zero time (0001-01-01T00:00:00Z) is the endsAt of an alert that has not ended.
    resolved = alert.status == "resolved" and alert.ends_at is not None and alert.ends_at.year > _ZERO_YEAR
    ends = _naive(alert.ends_at, where + "endsAt") if resolved and alert.ends_at is not None else None
    labels = alert.labels
    severity = _text(labels.get("severity"), where + "labels.severity")
    kind = labels.get("kind", "security")
    fingerprint = _text(alert.fingerprint, where + "fingerprint") or ""
    title = alert.annotations.get("summary") or labels.get("alertname") or alert.fingerprint
    return AlertRecord(
        fingerprint=fingerprint,
        starts_at=starts,
        ends_at=ends,
        status="resolved" if resolved else "firing",
        alertname=_text(labels.get("alertname"), where + "labels.alertname"),
        severity=severity,
        service=_text(labels.get("service"), where + "labels.service"),
        slo=_text(labels.get("slo"), where + "labels.slo"),
        labels=json.dumps(labels, sort_keys=True),
        annotations=json.dumps(alert.annotations, sort_keys=True),
        generator_url=_text(alert.generator_url, where + "generatorURL") or "",
        receiver=_text(payload.receiver, "receiver") or "",
        received_at=received,
        incident_id=f"alertmanager-{fingerprint}-{starts.isoformat()}Z",
        incident_kind=kind if kind in {"security", "outage"} else "security",
        incident_severity=_SEVERITIES.get((severity or "").casefold(), "unknown"),
        title=_text(title, where + "annotations.summary") or "",
    )
