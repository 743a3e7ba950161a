"""Properties of the two things a playbook's record rests on: secrets are redacted in every form seclo writes them
(also when the text is then cut short), and the audit chain detects any single change, deletion or reordering."""

from __future__ import annotations

import base64
import json
import string
from urllib.parse import quote, quote_plus

from hypothesis import example, given, settings
from hypothesis import strategies as st

from seclo.playbooks.access import HeldStore
from seclo.playbooks.audit import AuditLog, verify_chain
from seclo.playbooks.recorder import Recorder
from seclo.playbooks.redaction import Redactor, placeholder
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


# Text around secrets drawn from letters no secret and no base64 run uses, so any piece of a secret found after
# redaction can only have come from the secret itself.
AROUND = st.text(" \n\t,{}ωЖ→", max_size=30)
USERS = st.text(string.ascii_lowercase, min_size=1, max_size=8)


def _forms(value: str, user: str) -> list[str]:
    """Every form seclo redacts: as written, JSON-escaped, URL-encoded, base64 (both alphabets) and Basic auth."""
    raw = value.encode()
    return [
        value,
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "Basic " + base64.b64encode(f"{user}:{value}".encode()).decode(),
    ]


@settings(max_examples=300, deadline=None)
@given(
    secrets=st.lists(SECRET, min_size=1, max_size=3),
    parts=st.lists(AROUND, min_size=1, max_size=5),
    user=USERS,
    limit=st.integers(min_value=0, max_value=400),
)
# A literal secret made of base64 letters right after a Basic header: replaced first, it took the header's last
# letter, and the rest of the header no longer decoded to the secret ("YTowMD" was left in clear).
@example(secrets=["000000010t", "00000000"], parts=[""], user="a", limit=133)
def test_redact_then_truncate_leaves_no_piece_of_a_secret_at_any_cut(
    secrets: list[str], parts: list[str], user: str, limit: int
) -> None:
    """Cut at any length after redaction, a text holding secrets in any form (base64 and Basic auth included)
    holds no 6-character piece of a secret or of its encoded forms, and is the redacted text's prefix."""
    named = dict(zip(NAMES, secrets, strict=False))
    redactor = Redactor.of(named)
    forms = [f for v in named.values() for f in _forms(v, user)]
    text = "".join(p + forms[i % len(forms)] for i, p in enumerate(parts)) + "".join(forms)
    out = redactor.clip(text, limit)
    assert out == redactor.text(text)[:limit]
    for form in forms:
        secret_part = form.removeprefix("Basic ")
        for i in range(len(secret_part) - 5):
            piece = secret_part[i : i + 6]
            assert piece not in out or any(piece in placeholder(n) for n in NAMES)


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
