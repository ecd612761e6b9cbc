"""The inbox's messages in SQLite: add, label, list, and the figures for the analytics view.

One short-lived connection per operation: the web app calls in from several threads, and SQLite
connections must not be shared between them. Times are stored as ISO 8601 text in UTC, which
sorts and groups by day with plain string functions.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from common.bundle.textprep import has_content
from common.errors import UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    sender TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    label TEXT,
    probability REAL,
    model_version TEXT
);
CREATE INDEX IF NOT EXISTS messages_received_at ON messages (received_at);
"""
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_MESSAGE_CHARS = 100_000  # longer than any real support message; the form says so too


@dataclass(frozen=True)
class NewMessage:
    text: str
    sender: str = ""
    received_at: str = field(default_factory=lambda: now())


@dataclass(frozen=True)
class Message:
    id: int
    received_at: str
    sender: str
    text: str
    label: str | None
    probability: float | None
    model_version: str | None


@dataclass(frozen=True)
class Labelled:
    id: int
    label: str
    probability: float
    model_version: str


@dataclass(frozen=True)
class DayShare:
    day: str
    labelled: int
    flagged: int

    @property
    def share(self) -> float:
        return self.flagged / self.labelled if self.labelled else 0.0


@dataclass
class CsvImport:
    """Rows read from a CSV file, and every row left out with its reason."""

    messages: list[NewMessage]
    dropped: Counter[str]

    def summary(self) -> str:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(self.dropped.items()))
        dropped = sum(self.dropped.values())
        return f"read {len(self.messages)} messages" + (
            f"; dropped {dropped} rows ({reasons})" if dropped else "")


def now() -> str:
    return datetime.now(timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> str:
    """An ISO 8601 date or date-time → the stored UTC form; ``ValueError`` when unreadable."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime(TIME_FORMAT)


def read_csv(data: bytes, *, name: str = "upload.csv", text_column: str | None = None
             ) -> CsvImport:
    """Messages from a table of texts (CSV, TSV, JSON Lines), read by stage 4's reader.

    Encoding, delimiter and header are detected as in stage 4; the text column is
    ``text_column`` (a name or a 0-based position), else one named like ``text``/``message``,
    else the one with the longest values. ``sender`` and ``received_at`` columns are used when
    present. Rows that cannot be read, or whose text is empty (nothing but whitespace or invisible
    characters) or too long, or whose time is unreadable, are dropped and counted, never guessed
    at. ``ValueError`` (one line) for a file that is not such a table.
    """
    from stage4_own_data import read_table
    from stage4_own_data import text_column as pick_text_column

    with tempfile.TemporaryDirectory(prefix="inbox-import-") as folder:
        path = Path(folder) / (Path(name).name or "upload.csv")
        path.write_bytes(data)
        try:
            table = read_table(path)
            column, _ = pick_text_column(table, text_column)
        except UsageError as error:
            raise ValueError(str(error).replace(str(path), Path(name).name)) from None
    columns = set(table.frame.columns)
    texts = table.values(column)
    senders = table.values("sender") if "sender" in columns else [None] * len(texts)
    times = table.values("received_at") if "received_at" in columns else [None] * len(texts)
    messages: list[NewMessage] = []
    dropped: Counter[str] = Counter()
    if table.malformed_rows:
        dropped["malformed_row"] += table.malformed_rows
    for raw_text, sender, received in zip(texts, senders, times, strict=True):
        text = (raw_text or "").strip()
        if not has_content(text):
            dropped["empty_text"] += 1
            continue
        if len(text) > MAX_MESSAGE_CHARS:
            dropped["text_too_long"] += 1
            continue
        received = (received or "").strip()
        try:
            received_at = parse_time(received) if received else now()
        except ValueError:
            dropped["bad_received_at"] += 1
            continue
        messages.append(NewMessage(text, (sender or "").strip(), received_at))
    return CsvImport(messages, dropped)


class InboxStore:
    """The messages table of one SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:  # `with db`: commit
            db.row_factory = sqlite3.Row
            yield db

    def add(self, messages: Iterable[NewMessage]) -> list[int]:
        with self._connect() as db:
            return [db.execute(
                "INSERT INTO messages (received_at, sender, text) VALUES (?, ?, ?)",
                (m.received_at, m.sender, m.text)).lastrowid or 0 for m in messages]

    def set_labels(self, labels: Iterable[Labelled]) -> None:
        with self._connect() as db:
            db.executemany(
                "UPDATE messages SET label = ?, probability = ?, model_version = ? WHERE id = ?",
                [(x.label, x.probability, x.model_version, x.id) for x in labels])

    def get(self, ids: Iterable[int]) -> list[Message]:
        ids = list(ids)
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM messages WHERE id IN ({','.join('?' * len(ids))})"
                              " ORDER BY id", ids).fetchall()
        return [Message(**dict(row)) for row in rows]

    def unlabelled(self) -> list[Message]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM messages WHERE label IS NULL ORDER BY id").fetchall()
        return [Message(**dict(row)) for row in rows]

    def latest(self, limit: int = 200, label: str | None = None) -> list[Message]:
        query, params = "SELECT * FROM messages", []
        if label is not None:
            query, params = query + " WHERE label = ?", [label]
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY received_at DESC, id DESC LIMIT ?",
                              [*params, limit]).fetchall()
        return [Message(**dict(row)) for row in rows]

    def label_counts(self) -> dict[str, int]:
        """Messages per label, most frequent first; ``None`` counts those not labelled yet."""
        with self._connect() as db:
            rows = db.execute("SELECT label, COUNT(*) AS n FROM messages GROUP BY label "
                              "ORDER BY n DESC, label").fetchall()
        return {row["label"]: row["n"] for row in rows}

    def share_by_day(self, label: str) -> list[DayShare]:
        """Per day: labelled messages and how many got ``label`` (e.g. the spam share)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT substr(received_at, 1, 10) AS day, COUNT(*) AS labelled, "
                "SUM(label = ?) AS flagged FROM messages WHERE label IS NOT NULL "
                "GROUP BY day ORDER BY day", (label,)).fetchall()
        return [DayShare(row["day"], row["labelled"], row["flagged"]) for row in rows]
