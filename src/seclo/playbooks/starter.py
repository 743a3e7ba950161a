"""The starter playbooks `seclo init` writes into playbooks/: page on a fast burn, ticket overdue findings.

Both post to a placeholder receiver on 127.0.0.1:9999 and read their token from the environment, so a dry
run (`seclo playbook run page-on-burn --dry-run`) works in a fresh workspace and a real run reaches nothing
until the URL is edited. examples/playbooks/ holds these and two more (approvals, experiment re-runs).
"""

from __future__ import annotations

from pathlib import Path

from seclo.atomic import write_missing

__all__ = ["STARTER_PLAYBOOKS", "write_starter_playbooks"]

STARTER_PLAYBOOKS: dict[str, str] = {
    "page-on-burn.yaml": """\
# Page the on-call person through a webhook when a page-tier burn-rate alert fires for any SecLO.
# Written by `seclo init`; see docs/playbooks.md. Point `url` at your pager's events API and set PAGER_TOKEN.
apiVersion: seclo/v1
kind: Playbook
metadata:
  name: page-on-burn
  description: Page on a fast error-budget burn.
spec:
  mode: automatic
  trigger: {type: slo_alert, slo: "*", tier: page}
  conditions:
    - trigger.state in ["met", "breached"]
  secrets: [PAGER_TOKEN]
  rate_limit: {max_runs: 10, per: 1h}
  steps:
    - name: page
      type: http
      method: POST
      url: http://127.0.0.1:9999/page
      headers: {Authorization: "Bearer {{ secrets.PAGER_TOKEN }}"}
      body:
        summary: "SecLO {{ trigger.slo }}: {{ trigger.alert }} burning {{ '%.1f' | format(trigger.long_burn_rate) }}x"
        severity: critical
        source: seclo
        dedup_key: "{{ trigger.slo }}/{{ trigger.alert }}/{{ trigger.firing_since }}"
      retries: 3
      backoff: 1s
      timeout: 30s
    - name: record
      type: store
      kind: page
      subject: "{{ trigger.slo }}"
      fields: {alert: "{{ trigger.alert }}", pager_status: "{{ steps.page.status }}"}
""",
    "ticket-past-sla.yaml": """\
# Open a ticket for each critical or high finding past its fix-by date (sla_days in seclo.yaml).
# Written by `seclo init`; see docs/playbooks.md. Point `url` at your tracker and set TICKET_TOKEN.
apiVersion: seclo/v1
kind: Playbook
metadata:
  name: ticket-past-sla
  description: Open a ticket for findings past their SLA.
spec:
  mode: automatic
  trigger: {type: finding_past_sla, severities: [critical, high]}
  conditions:
    - trigger.days_overdue >= 0
  secrets: [TICKET_TOKEN]
  rate_limit: {max_runs: 50, per: 1h}
  steps:
    - name: open_ticket
      type: http
      url: http://127.0.0.1:9999/tickets
      headers: {Authorization: "Token {{ secrets.TICKET_TOKEN }}"}
      body:
        title: "{{ trigger.severity | upper }} {{ trigger.vuln_id }} on {{ trigger.asset_id }} is {{ trigger.days_overdue }} days past its SLA"
        labels: [security, sla]
        finding: "{{ trigger.finding_id }}"
""",
}


def write_starter_playbooks(folder: Path) -> list[Path]:
    """Write the starter playbooks into `folder`, keeping any file that already exists."""
    return write_missing(folder, STARTER_PLAYBOOKS)
