"""Playbook actions: one module per kind of step, each rendering its step into a Prepared action."""

from __future__ import annotations

from seclo.playbooks.actions.approval import prepare_approval
from seclo.playbooks.actions.command import prepare_command
from seclo.playbooks.actions.experiment import prepare_experiment
from seclo.playbooks.actions.http_request import prepare_http
from seclo.playbooks.actions.interface import ActionContext, ActionError, Prepared, Renderer, StepResult
from seclo.playbooks.actions.record import prepare_record
from seclo.playbooks.model import ApprovalStep, CommandStep, ExperimentStep, HttpStep, Step, StoreStep

__all__ = ["ActionContext", "ActionError", "Prepared", "Renderer", "StepResult", "prepare"]


def prepare(step: Step, render: Renderer) -> Prepared:
    """Render `step` into the action that runs it.

    Raises:
        ActionError: the rendered step cannot run (such as a URL that is not http or https).
        PlaybookTemplateError: a template refers to an unknown field.
    """
    if isinstance(step, CommandStep):
        return prepare_command(step, render)
    if isinstance(step, HttpStep):
        return prepare_http(step, render)
    if isinstance(step, StoreStep):
        return prepare_record(step, render)
    if isinstance(step, ApprovalStep):
        return prepare_approval(step, render)
    if isinstance(step, ExperimentStep):
        return prepare_experiment(step, render)
    raise AssertionError(step)  # pragma: no cover - the union is exhaustive
