"""Rule sets as Prometheus rule files (YAML), with the skipped objectives listed in a comment on top."""

from __future__ import annotations

from typing import Any

import yaml

from seclo.prometheus.rules import AlertingRule, RuleGroup, RuleSet

__all__ = ["dump_yaml", "render_rule_file", "rule_group_document"]

_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_FLOAT = yaml.representer.SafeRepresenter()


def dump_yaml(document: object) -> str:
    """`document` (mappings, lists, strings, numbers, booleans) as block-style YAML in key order, long lines
    kept whole (PromQL reads better unbroken). The same text as `yaml.dump(..., sort_keys=False)`.

    PyYAML's representer costs several Python objects per node, and a rule file for 1,000 SLOs has 280,000
    nodes. So this walks the document once into YAML events, deciding once per distinct string whether it
    can be written plain (as the representer would) and reusing that string's event, and hands them to the
    emitter (libyaml's when PyYAML has it).
    """
    events: list[yaml.Event] = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False)]
    _Walker(events).walk(document)
    events += [yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return str(yaml.emit(events, Dumper=_DUMPER, allow_unicode=True, width=1 << 20))


class _Walker:
    """Appends the events of a document to `out`; the emitter only reads events, so equal ones are shared."""

    def __init__(self, out: list[yaml.Event]) -> None:
        self.out = out
        self.scalars: dict[str, yaml.ScalarEvent] = {}
        self.map_start = yaml.MappingStartEvent(None, None, True, flow_style=False)
        self.map_end = yaml.MappingEndEvent()
        self.seq_start = yaml.SequenceStartEvent(None, None, True, flow_style=False)
        self.seq_end = yaml.SequenceEndEvent()

    def walk(self, value: object) -> None:
        out = self.out
        if isinstance(value, str):
            event = self.scalars.get(value)
            if event is None:
                plain = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR  # type: ignore[no-untyped-call]
                event = self.scalars[value] = yaml.ScalarEvent(None, _STR, (plain, True), value)
            out.append(event)
        elif isinstance(value, dict):
            out.append(self.map_start)
            for key, item in value.items():
                self.walk(key)
                self.walk(item)
            out.append(self.map_end)
        elif isinstance(value, list | tuple):
            out.append(self.seq_start)
            for item in value:
                self.walk(item)
            out.append(self.seq_end)
        else:
            node = _FLOAT.represent_data(value)
            if not isinstance(node, yaml.ScalarNode):
                raise TypeError(f"cannot write {type(value).__name__} as YAML")  # pragma: no cover
            out.append(yaml.ScalarEvent(None, node.tag, (True, False), node.value))


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
