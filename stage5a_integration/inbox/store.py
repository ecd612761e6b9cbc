"""The inbox's messages in SQLite: add, label, list, and the figures for the analytics view.

One short-lived connection per operation: the web app calls in from several threads, and SQLite
connections must not be shared between them. Times are stored as ISO 8601 text in UTC, which
sorts and groups by day with plain string functions.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

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


def read_csv(data: bytes) -> CsvImport:
    """Messages from CSV bytes with a header: ``text`` required; ``sender``, ``received_at``.

    Rows with an empty or too long text or an unreadable time are dropped and counted, never
    guessed at. ``ValueError`` for a file that is not such a CSV.
    """
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the CSV file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(content))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise ValueError(f"the CSV needs a 'text' column; its header is {reader.fieldnames}")
    messages: list[NewMessage] = []
    dropped: Counter[str] = Counter()
    try:
        rows = list(reader)
    except csv.Error as error:  # e.g. a field over csv.field_size_limit() characters
        raise ValueError(f"the CSV cannot be read: {error}") from None
    for row in rows:
        text = (row.get("text") or "").strip()
        if not text:
            dropped["empty_text"] += 1
            continue
        if len(text) > MAX_MESSAGE_CHARS:
            dropped["text_too_long"] += 1
            continue
        received = (row.get("received_at") or "").strip()
        try:
            received_at = parse_time(received) if received else now()
        except ValueError:
            dropped["bad_received_at"] += 1
            continue
        messages.append(NewMessage(text, (row.get("sender") or "").strip(), received_at))
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
