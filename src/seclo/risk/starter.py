"""The example risk scenarios `seclo init` writes into risk/: a breach with a treatment, and outages."""

from __future__ import annotations

from pathlib import Path

from seclo.atomic import write_missing

__all__ = ["STARTER_SCENARIOS", "write_starter_scenarios"]

STARTER_SCENARIOS: dict[str, str] = {
    "data-breach.yaml": """\
# A customer data breach. Written by `seclo init`; see docs/risk-model.md for every field.
# The preset is Cyentia IRIS 2022's loss distribution and breach rate for a typical firm; replace it with
# your own figures (p05/p95 of a loss, an annual probability), or fit them: `seclo risk calibrate`.
apiVersion: seclo/v1
kind: RiskScenario
metadata:
  name: data-breach
  displayName: Customer data breach
spec:
  category: security
  preset: iris-2022-breach
  treatments:
    - name: phishing-resistant-mfa
      description: FIDO2 keys for every account with access to customer data.
      annualCost: 120000
      frequencyFactor: 0.6
""",
    "tolerance.yaml": """\
# The organisation's risk tolerance. Written by `seclo init`: replace the points with what your board accepts.
# Each point: at most `probability` chance a year of losing more than `loss`, in total over all scenarios.
apiVersion: seclo/v1
kind: RiskTolerance
metadata:
  name: board-appetite
spec:
  points:
    - {loss: 1.0e6, probability: 0.5}
    - {loss: 1.0e7, probability: 0.1}
    - {loss: 1.0e8, probability: 0.01}
    - {loss: 1.0e9, probability: 0.001}
""",
    "outages.yaml": """\
# Service outages. Written by `seclo init`. Duration lognormal(0.1, 1.7) hours times the cost of an hour:
# set the rate and costPerUnit to your own.
apiVersion: seclo/v1
kind: RiskScenario
metadata:
  name: outages
  displayName: Service outages
spec:
  category: outage
  frequency:
    rate: 10
  severity:
    meanlog: 0.1
    sdlog: 1.7
    unit: hours
    costPerUnit: 100000
""",
}


def write_starter_scenarios(folder: Path) -> list[Path]:
    """Write the example scenarios into `folder`, keeping any file that already exists."""
    return write_missing(folder, STARTER_SCENARIOS)
