"""The HTML report: self-contained, complete, escaped, and plain about objectives it cannot judge."""

from __future__ import annotations

import re
from pathlib import Path

from report_helpers import AT, POLICY, loads, result, unsupported

from seclo.report import render_slo_report, write_slo_report


def _page(*results: object, workspace: str = "/srv/ws") -> str:
    return render_slo_report(tuple(results), at=AT, workspace=workspace)  # type: ignore[arg-type]


def test_report_loads_nothing_from_outside() -> None:
    """Every src, href and url() in the page is a #fragment or a data: URI, and there is no script at all."""
    page = _page(result("met"), result("breached", last_hours_bad=48), unsupported())
    found = loads(page)
    assert found.urls, "the charts' clip paths and the contents' links should be seen by the parser"
    outside = [u for u in found.urls if not (u.startswith("#") or u.startswith("data:"))]
    assert outside == []
    assert not {"script", "link", "iframe", "object", "embed", "img", "base"} & set(found.tags)
    assert "default-src 'none'" in page  # the browser refuses any fetch a later section might add


def test_every_element_id_is_unique() -> None:
    """Charts' clip paths and the sections' anchors never share an id, so each chart clips to its own axes."""
    found = loads(_page(result("a"), result("b", last_hours_bad=48), result("c", kind="snapshot")))
    assert len(found.ids) == len(set(found.ids))


def test_each_objective_has_a_section_with_two_charts() -> None:
    """A section per SLO, linked from the summary table, each with the budget and the SLI chart."""
    page = _page(result("login-success"), result("mfa-coverage", kind="snapshot", bad_share=0.05))
    for index, name in enumerate(("login-success", "mfa-coverage"), start=1):
        anchor = f"slo-{index}-{name}"
        assert f'href="#{anchor}"' in page
        section = page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]
        assert section.count("<svg") == 2
        assert "Error budget left over the period" in section
        assert "against the target" in section


def test_summary_counts_states() -> None:
    """The summary tells how many objectives are met, breached, alerting and without data."""
    page = _page(result("ok"), result("bad", last_hours_bad=48), result("empty", empty=True), unsupported())
    counts = {label: int(count) for count, label in re.findall(r'count">(\d+)</div><strong>([^<]+)<', page)}
    assert counts == {"met": 1, "breached": 1, "alerting": 1, "without data": 1, "not evaluated": 1}
    assert "2024-03-02 00:00 UTC" in page
    assert "/srv/ws" in page


def test_breached_objective_reads_as_breached() -> None:
    """A spent budget shows a breached badge, a negative budget and firing alerts highlighted."""
    page = _page(result("bad", last_hours_bad=48))
    assert '<span class="badge breached">breached</span>' in page
    assert '<span class="badge alert">alerting</span>' in page
    assert 'tr class="firing"' in page
    assert "FIRING" in page
    assert "percentage points below" in page


def test_hostile_names_and_descriptions_are_escaped() -> None:
    """SLO text from files cannot inject markup: a <script> display name shows as text, not as a script."""
    hostile = '<script>alert("x")</script>'
    page = _page(
        result(
            "evil",
            display_name=hostile,
            description='<img src="https://attacker.invalid/x.png"> & "quotes"',
        ),
        workspace="/srv/<b>ws</b>",
    )
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=&quot;https://attacker.invalid/x.png&quot;&gt; &amp; &quot;quotes&quot;" in page
    assert "<b>ws</b>" not in page
    found = loads(page)
    assert "img" not in found.tags
    assert all(u.startswith(("#", "data:")) for u in found.urls)


def test_no_data_and_unsupported_say_so_instead_of_charts() -> None:
    """An objective without data or with an unsupported source explains itself and draws no chart."""
    page = _page(result("empty", empty=True), unsupported("api-latency"))
    assert "<svg" not in page
    assert "No data." in page
    assert "neither met nor breached" in page
    assert "seclo could not evaluate this objective: a Prometheus metric source" in page
    assert '<span class="badge nodata">no data</span>' in page
    assert '<span class="badge nodata">not evaluated</span>' in page


def test_policy_steps_reached_are_highlighted() -> None:
    """The error budget policy lists its steps; the reached ones are highlighted and the current one named."""
    page = _page(result("bad", last_hours_bad=48, policy=POLICY))
    assert "Error budget policy: default" in page
    assert "The current step is <strong>freeze</strong>" in page
    assert '<tr class="reached"><td>notify</td>' in page
    assert '<tr class="current"><td>freeze</td>' in page
    summary = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert "<td>freeze</td>" in summary  # the summary table names the current step
    assert "policy step 'notify': below 50%" in page  # the budget chart's threshold line, in its legend


def test_objective_without_a_policy_says_so() -> None:
    """With no policy the section says none applies rather than showing an empty table."""
    assert "No error budget policy applies to this objective." in _page(result("ok"))


def test_objective_is_described_in_words() -> None:
    """Each objective reads as a sentence: the target, what is counted and over which window."""
    page = _page(result("slices", budgeting="Timeslices"), result("mfa", kind="snapshot", target=0.98))
    assert "At least 95% of 1-hour time slices are good over the last 28 days (a rolling window)" in page
    assert "a slice is good when at least 90% of its events are good" in page
    assert "At least 98% of the items in the inventory are good" in page


def test_same_results_give_the_same_bytes(tmp_path: Path) -> None:
    """Rendering twice gives an identical file (no dates or random ids in the charts), written atomically."""
    results = (result("a"), result("b", last_hours_bad=30, policy=POLICY))
    first, second = tmp_path / "one.html", tmp_path / "two.html"
    write_slo_report(first, results, at=AT, workspace="/ws")
    write_slo_report(second, results, at=AT, workspace="/ws")
    assert first.read_bytes() == second.read_bytes()
    assert {p.name for p in tmp_path.iterdir()} == {"one.html", "two.html"}  # no temporary file left
