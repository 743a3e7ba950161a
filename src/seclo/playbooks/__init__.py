"""Playbooks: "do it once manually, automate it the second time".

A playbook file (playbooks/*.yaml) names a trigger, conditions and ordered steps. The engine runs each trigger
occurrence at most once, with dry runs, approvals, retries, rate limits and a hash-chained audit trail.
"""

from seclo.playbooks.audit import AuditLog, ChainCheck, verify_chain
from seclo.playbooks.engine import PlaybookRunner
from seclo.playbooks.loader import LoadedPlaybook, load_playbooks
from seclo.playbooks.model import Playbook
from seclo.playbooks.outcomes import Guide, Observer, RunOutcome, StepReport
from seclo.playbooks.triggers import Occurrence

__all__ = [
    "AuditLog",
    "ChainCheck",
    "Guide",
    "LoadedPlaybook",
    "Observer",
    "Occurrence",
    "Playbook",
    "PlaybookRunner",
    "RunOutcome",
    "StepReport",
    "load_playbooks",
    "verify_chain",
]


def handle_alertmanager(runner: PlaybookRunner, payload: object) -> list[RunOutcome]:
    """Run the playbooks an Alertmanager webhook payload triggers (the entry point `seclo serve` calls)."""
    return runner.handle_alertmanager(payload)


__all__ += ["handle_alertmanager"]
