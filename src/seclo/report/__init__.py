"""Reports over the store: one self-contained HTML file with a summary and charts (more formats later)."""

from __future__ import annotations

from seclo.report.interface import Section
from seclo.report.slo_report import render_slo_report, write_slo_report

__all__ = ["Section", "render_slo_report", "write_slo_report"]
