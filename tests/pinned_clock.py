"""The moment tests take as "now", so that no test passes or fails by the hour (or weekday) it runs.

Library calls take it as `end`/`at`; the command line reads it from SECLO_NOW, which tests/conftest.py sets
for every test. A Thursday evening: the demo's three days then hold deployments, failures and restores.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["PINNED_NOW", "PINNED_NOW_TEXT"]

PINNED_NOW = datetime(2026, 12, 3, 21, 35)  # naive UTC
PINNED_NOW_TEXT = "2026-12-03T21:35:00Z"
