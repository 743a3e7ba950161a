"""The synthetic organisation as a whole: reproducible, conforming to the data model, listed in the result."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from seclo.errors import InputError
from seclo.generate import GeneratedFiles, generate_organisation
from seclo.store.schema import table

END = datetime(2025, 6, 4, 15, 30)
TABLES = ("auth_events", "accounts", "assets", "ports", "findings", "incidents", "deployments")


class RecordingReporter:
    """Keeps every progress call, and the progress made on each task."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.progress: dict[str, float] = {}
        self.totals: dict[str, float | None] = {}

    def start(self, task: str, total: float | None = None) -> None:
        """Record the start."""
        self.calls.append(f"start {task}")
        self.totals[task] = total
        self.progress[task] = 0.0

    def advance(self, amount: float) -> None:
        """Record progress on the current task."""
        task = self.calls[-1].removeprefix("start ") if self.calls[-1].startswith("start") else self.calls[-1]
        self.calls.append(task)
        self.progress[task] += amount

    def finish(self) -> None:
        """Record the end."""
        self.calls.append("finish")

    def note(self, message: str) -> None:
        """Record a note."""
        self.calls.append(f"note {message}")


def _generate(
    out_dir: Path, seed: int, *, auth_events: int = 50_000, reporter: RecordingReporter | None = None
) -> GeneratedFiles:
    return generate_organisation(
        out_dir, days=14, users=150, auth_events=auth_events, seed=seed, end=END, reporter=reporter
    )


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> GeneratedFiles:
    """A small organisation, generated once for the module."""
    return _generate(tmp_path_factory.mktemp("org"), 7)


def _contents(files: GeneratedFiles) -> dict[str, bytes]:
    return {entry.name: b"".join(path.read_bytes() for path in entry.paths) for entry in files.tables}


def test_same_seed_gives_byte_identical_files(org: GeneratedFiles, tmp_path: Path) -> None:
    """Generating again with the same seed and end writes exactly the same bytes for every table."""
    again = _generate(tmp_path, 7)
    assert _contents(again) == _contents(org)


def test_different_seed_gives_different_data(org: GeneratedFiles, tmp_path: Path) -> None:
    """Another seed gives another organisation, table by table."""
    other = _contents(_generate(tmp_path, 8))
    first = _contents(org)
    assert all(other[name] != first[name] for name in TABLES)


def test_event_count_leaves_other_tables_unchanged(org: GeneratedFiles, tmp_path: Path) -> None:
    """Asking for more auth events changes only the auth events: every table has its own random stream."""
    bigger = _contents(_generate(tmp_path, 7, auth_events=80_000))
    first = _contents(org)
    assert bigger["auth_events"] != first["auth_events"]
    assert all(bigger[name] == first[name] for name in TABLES if name != "auth_events")


def test_result_lists_each_table_file_and_row_count(org: GeneratedFiles) -> None:
    """The result names one existing Parquet file per table, with the number of rows it holds."""
    assert tuple(entry.name for entry in org.tables) == TABLES
    for entry in org.tables:
        assert entry.paths == (org.out_dir / f"{entry.name}.parquet",)
        assert sum(pq.ParquetFile(p).metadata.num_rows for p in entry.paths) == entry.rows > 0
    assert org.table("auth_events").rows == 50_000
    assert (org.start, org.end) == (datetime(2025, 5, 21, 15, 30), END)
    assert set(org.out_dir.iterdir()) == set(org.paths)


@pytest.mark.parametrize("name", TABLES)
def test_duckdb_reads_the_data_model_columns_and_types(org: GeneratedFiles, name: str) -> None:
    """DuckDB sees every column of the data model, in order, with the declared type."""
    path = org.table(name).paths[0]
    with duckdb.connect() as connection:
        described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    assert [(row[0], row[1]) for row in described] == [(c.name, c.sql_type) for c in table(name).columns]


@pytest.mark.parametrize("name", TABLES)
def test_enumerations_stay_within_their_choices(org: GeneratedFiles, name: str) -> None:
    """Every value of an enumerated column is one of the values the data model allows."""
    data = pq.read_table(org.table(name).paths[0])
    for column in table(name).columns:
        if column.choices:
            values = set(data.column(column.name).drop_null().to_pylist())
            assert values <= set(column.choices), column.name


@pytest.mark.parametrize("name", TABLES)
def test_required_columns_are_never_empty(org: GeneratedFiles, name: str) -> None:
    """A column the data model requires has a value on every row."""
    data = pq.read_table(org.table(name).paths[0])
    for column in table(name).columns:
        if column.required:
            assert data.column(column.name).null_count == 0, column.name


def test_timestamps_are_naive_microseconds(org: GeneratedFiles) -> None:
    """Times are stored as naive UTC microsecond timestamps, as the store expects."""
    schema = pq.read_schema(org.table("auth_events").paths[0])
    assert str(schema.field("time").type) == "timestamp[us]"


def test_reporter_sees_auth_event_progress(tmp_path: Path) -> None:
    """Progress on the auth events starts with their total and advances up to it, then finishes."""
    reporter = RecordingReporter()
    _generate(tmp_path, 1, reporter=reporter)
    assert reporter.totals["auth events"] == 50_000
    assert reporter.progress["auth events"] == 50_000
    assert reporter.calls.count("finish") == sum(call.startswith("start") for call in reporter.calls)


def test_default_volume_scales_with_people_and_days(tmp_path: Path) -> None:
    """Without an event count, a larger organisation over a longer period logs in more often."""
    small = generate_organisation(tmp_path / "a", days=2, users=40, end=END)
    large = generate_organisation(tmp_path / "b", days=4, users=80, end=END)
    assert large.table("auth_events").rows == 4 * small.table("auth_events").rows > 0


@pytest.mark.parametrize(
    ("days", "users", "events", "message"),
    [(0, 100, None, "between 1 and"), (7, 3, None, "at least 10"), (7, 100, -1, "negative")],
)
def test_out_of_range_arguments_are_refused(
    tmp_path: Path, days: int, users: int, events: int | None, message: str
) -> None:
    """An impossible period, organisation or event count is refused with a sentence saying why."""
    with pytest.raises(InputError, match=message):
        generate_organisation(tmp_path, days=days, users=users, auth_events=events, end=END)
