"""Rule sets as Prometheus rule files (YAML), with the skipped objectives listed in a comment on top.

The whole document is built once and dumped in one call, with libyaml's emitter when PyYAML has it.
"""

from __future__ import annotations

from typing import Any

import yaml

from seclo.prometheus.rules import AlertingRule, RuleGroup, RuleSet

__all__ = ["dump_yaml", "render_rule_file", "rule_group_document"]

_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(document: object) -> str:
    """`document` as block-style YAML in key order, long lines kept whole (PromQL reads better unbroken)."""
    return yaml.dump(
        document, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 20
    )


def rule_group_document(group: RuleGroup) -> dict[str, Any]:
    """One group as Prometheus' rule file format has it."""
    rules: list[dict[str, Any]] = []
    for rule in group.rules:
        if isinstance(rule, AlertingRule):
            item: dict[str, Any] = {"alert": rule.alert, "expr": rule.expr}
            if rule.for_ is not None:
                item["for"] = rule.for_
            item["labels"] = dict(rule.labels)
            item["annotations"] = dict(rule.annotations)
        else:
            item = {"record": rule.record, "expr": rule.expr, "labels": dict(rule.labels)}
        rules.append(item)
    return {"name": group.name, "interval": group.interval, "rules": rules}


def render_rule_file(rule_set: RuleSet) -> str:
    """The Prometheus rule file: a header comment (with every skipped objective and why), then the groups."""
    header = [
        "# Prometheus recording and alerting rules for seclo's SLOs, written by `seclo slo rules`.",
        "# Regenerate rather than edit. Naming, labels and the PromQL convention: docs/prometheus.md.",
        f"# {len(rule_set.objectives)} objective(s) written, {len(rule_set.skipped)} skipped.",
    ]
    header += [
        f"# skipped {s.slo} objective {s.objective}: {' '.join(s.reason.split())}" for s in rule_set.skipped
    ]
    groups = [rule_group_document(group) for group in rule_set.groups]
    return "\n".join(header) + "\n" + dump_yaml({"groups": groups})
