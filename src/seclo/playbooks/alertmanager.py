"""The Alertmanager webhook payload (version 4), as Alertmanager's webhook receiver sends it.

See https://prometheus.io/docs/alerting/latest/configuration/#webhook_config. Unknown keys are ignored, so a
newer Alertmanager that adds fields still works; missing required ones are an InputError.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seclo.errors import InputError
from seclo.userfile import format_loc

__all__ = ["Alert", "AlertmanagerPayload", "parse_payload"]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Alert(_Lenient):
    """One alert of the group."""

    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str = Field(default="", alias="startsAt")
    ends_at: str = Field(default="", alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    @property
    def identity(self) -> str:
        """The fingerprint, or a hash of the labels when the sender gave none."""
        if self.fingerprint:
            return self.fingerprint
        canonical = json.dumps(self.labels, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class AlertmanagerPayload(_Lenient):
    """A webhook notification: a group of alerts."""

    version: str = "4"
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts")
    status: str = "firing"
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert]


def parse_payload(payload: Any) -> AlertmanagerPayload:
    """Validate a decoded webhook body (or raw bytes / text of one).

    Raises:
        InputError: the body is not JSON or not an Alertmanager webhook.
    """
    if isinstance(payload, bytes | str):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise InputError(f"Alertmanager webhook: not JSON ({exc})") from None
    try:
        return AlertmanagerPayload.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"Alertmanager webhook: {format_loc(tuple(err['loc']))}: {err['msg']}") from None
