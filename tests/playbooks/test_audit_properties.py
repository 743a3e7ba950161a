"""Properties of the two things a playbook's record rests on: secrets are redacted in every form seclo writes them,
and the audit chain detects any single change, deletion or reordering."""

from __future__ import annotations

import json
import string
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from seclo.playbooks.access import HeldStore
from seclo.playbooks.audit import AuditLog, verify_chain
from seclo.playbooks.recorder import Recorder
from seclo.playbooks.redaction import Redactor
from seclo.store import open_store
from seclo.store.sql import run

# Real secrets have no brackets or spaces, so none can be part of a `[secret NAME]` placeholder.
SECRET = st.text(
    string.ascii_letters + string.digits + "!#$%&*+-./:;<=>?@^_|~\"'\\é€", min_size=8, max_size=40
)
NAMES = ("API_TOKEN", "DB_PASSWORD", "HOOK_KEY")
TEXT = st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(secrets=st.lists(SECRET, min_size=1, max_size=3), parts=st.lists(TEXT, min_size=1, max_size=4))
def test_no_secret_survives_in_any_encoding(secrets: list[str], parts: list[str]) -> None:
    """Whatever text surrounds them, a secret in clear, JSON-escaped or URL-encoded is gone after redaction, and
    redacting twice changes nothing more."""
    named = dict(zip(NAMES, secrets, strict=False))
    redactor = Redactor.of(named)
    forms = [f(v) for v in named.values() for f in (str, lambda v: json.dumps(v)[1:-1], quote, quote_plus)]
    text = "".join(p + forms[i % len(forms)] for i, p in enumerate(parts))
    out = redactor.text(text)
    for value in named.values():
        assert value not in out
        assert json.dumps(value)[1:-1] not in out
        assert quote(value, safe="") not in out
    assert redactor.text(out) == out
    document = redactor.value({"body": {"token": text, "list": [text, 3]}, text: None})
    assert all(value not in json.dumps(document, ensure_ascii=False) for value in named.values())


RECORD = st.tuples(
    st.sampled_from(["evaluate", "decision", "step_start", "step_end", "approval"]),
    st.dictionaries(
        st.text(max_size=8), st.one_of(st.text(max_size=20), st.integers(), st.booleans()), max_size=3
    ),
    st.one_of(st.none(), st.text(string.ascii_lowercase, min_size=1, max_size=8)),
)
COLUMNS = ("run_id", "playbook", "event", "step", "detail")


@settings(max_examples=40, deadline=None)
@given(
    records=st.lists(RECORD, min_size=2, max_size=12),
    pick=st.integers(min_value=0),
    column=st.sampled_from(COLUMNS),
    how=st.sampled_from(["change", "delete", "swap"]),
)
def test_any_single_tampering_is_found_at_its_record(
    records: list[tuple[str, dict[str, object], str | None]], pick: int, column: str, how: str
) -> None:
    """Built by AuditLog through the batching recorder, the chain verifies; then changing one column of one record, deleting one record, or
    swapping two records' contents is reported at the first record affected."""
    with open_store(None) as store:
        recorder = Recorder(HeldStore(store).writer, max_records=5)
        log = AuditLog(recorder)
        for event, detail, step in records:
            log.append(event, detail, run_id="r1", playbook="p", step=step)
        recorder.close()
        assert verify_chain(store).ok
        assert verify_chain(store).records == len(records)
        seq = pick % len(records) + 1
        expected: int | None
        if how == "change":
            run(
                store.conn,
                f"UPDATE playbook_audit SET {column} = coalesce({column}, '') || 'x' WHERE seq = ?",
                [seq],
            )
            expected = seq
        elif how == "delete":
            run(store.conn, "DELETE FROM playbook_audit WHERE seq = ?", [seq])
            expected = seq if seq < len(records) else None  # the last record leaves no gap: see below
        else:
            other = seq % len(records) + 1
            low, high = min(seq, other), max(seq, other)
            run(
                store.conn,
                "UPDATE playbook_audit a SET detail = b.detail, event = b.event, step = b.step "
                "FROM playbook_audit b WHERE (a.seq, b.seq) IN ((?, ?), (?, ?))",
                [low, high, high, low],
            )
            same = store.conn.execute(
                "SELECT count(DISTINCT (detail, event, coalesce(step, ''))) FROM playbook_audit WHERE seq IN (?, ?)",
                [low, high],
            ).fetchall()[0][0]
            expected = low if same == 2 else None
        check = verify_chain(store)
        if expected is None:
            return
        assert not check.ok
        assert check.broken_seq == expected
