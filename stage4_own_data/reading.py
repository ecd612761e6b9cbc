"""Reading a labelled table (CSV, TSV, JSON Lines, Parquet) into strings, saying what was guessed.

Every cell comes back as text or missing: types are decided later (a label "01" must stay
"01"). Every line of the file becomes a row, even a blank one, and lines that cannot be split into
the table's columns are counted (``malformed_rows``), so the cleaner can account for all of them.

Guesses, each reported in :attr:`Table.notes`:

* compression: a ``.gz`` file is decompressed first, and its format comes from the name without
  ``.gz`` (``reviews.tsv.gz`` is TSV);
* format: from the suffix (``.tsv``, ``.jsonl``, ``.parquet``; anything else is CSV);
* delimiter (CSV): the one of ``,`` ``;`` tab ``|`` that splits the most sample lines into the same
  number (at least two) of fields; ``--sep`` overrides it;
* quotes: in tab-separated files quotes are literal characters (every line is a record), as in
  the SMS Spam Collection, whose texts have unbalanced quotes that a CSV reader would follow
  across lines; in other delimited files a quoted field may hold the delimiter or a line break;
* header: the first row is a header when each of its cells looks like a column name (short, no
  sentence punctuation, not a number) and none of them appears again below it in its column (a
  label such as "spam" on line 1 that recurs further down is data, not a name). ``--no-header``
  and column flags given by name override it.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from common.errors import UsageError
from stage4_own_data.encoding import decode_bytes

SUFFIX_FORMATS = {
    ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet",
}
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SNIFF_LINES = 200
NAME_PATTERN = re.compile(r"^[^\W\d][\w .()/-]{0,39}$")


@dataclass
class Table:
    """The rows of one file as strings, and how it was read."""

    frame: pd.DataFrame
    path: Path
    format: str
    encoding: str
    header: bool
    delimiter: str | None = None
    malformed_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def values(self, column: str) -> list[str | None]:
        """One column as Python strings, ``None`` where the cell is missing."""
        return [_cell(value) for value in self.frame[column].tolist()]

    @property
    def rows(self) -> int:
        """Every data row the file holds, malformed ones included."""
        return len(self.frame) + self.malformed_rows


def read_table(
    path: str | Path,
    *,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
) -> Table:
    """Read ``path``; ``header=None`` detects it. Raise :class:`UsageError` on unusable input."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"input file not found: {path}")
    if not path.is_file():
        raise UsageError(f"input is not a file: {path}")
    compressed = path.suffix.lower() == ".gz"
    name = Path(path.stem) if compressed else path
    fmt = SUFFIX_FORMATS.get(name.suffix.lower(), "csv")
    raw = _decompress(path) if compressed else path.read_bytes()
    if fmt == "parquet":
        return _read_parquet(raw, path)
    if not raw.strip():
        raise UsageError(f"input file is empty: {path}")
    decoded = decode_bytes(raw, forced=encoding, name=str(path))
    text = decoded.text.lstrip("\ufeff")
    if not text.strip():
        raise UsageError(f"input file has no text: {path}")
    notes = [f"encoding {decoded.encoding} ({decoded.how})"]
    if compressed:
        notes.insert(0, f"gzip-compressed: decompressed, read as {name.name}")
    if fmt == "jsonl":
        table = _read_jsonl(text, path, decoded.encoding)
    else:
        table = _read_delimited(text, path, fmt, decoded.encoding, sep, header)
    table.notes[:0] = notes
    if table.frame.empty:
        raise UsageError(f"no data rows in {path} (only a header?)")
    return table


def _decompress(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as error:
        raise UsageError(f"cannot decompress {path} (a .gz file): {error}") from None


def quoting_for(delimiter: str) -> int:
    """Tab-separated: quotes are literal (one line, one record); otherwise CSV's quoting rules."""
    return csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL


def parse_separator(sep: str) -> str:
    """``--sep`` as typed on a shell: ``\\t`` and ``tab`` mean a tab."""
    value = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(sep, sep)
    if len(value) != 1:
        raise UsageError(f"--sep must be one character (or 'tab'), got {sep!r}")
    return value


def sniff_delimiter(text: str) -> tuple[str, str]:
    """Pick the delimiter that splits sample lines most consistently; return it and why."""
    sample = "\n".join(text.splitlines()[:SNIFF_LINES])
    scored = []
    for delimiter in DELIMITERS:
        rows = csv.reader(io.StringIO(sample), delimiter=delimiter, quoting=quoting_for(delimiter))
        counts = [len(row) for row in rows if row]
        if not counts:
            continue
        width, frequency = Counter(counts).most_common(1)[0]
        if width >= 2:
            scored.append((frequency / len(counts), width, delimiter))
    if not scored:
        return ",", "no delimiter splits the lines: one column"
    best = max(scored, key=lambda item: item[0])  # max keeps the first of equals: DELIMITERS order
    ties = [d for share, _, d in scored if share == best[0] and d != best[2]]
    shown = DELIMITER_NAMES[best[2]]
    if ties:
        others = ", ".join(DELIMITER_NAMES[d] for d in ties)
        return best[2], f"{shown} (as consistent as {others}: pass --sep to choose)"
    return best[2], f"{shown} (splits {best[0]:.0%} of sampled lines into {best[1]} fields)"


def detect_header(frame: pd.DataFrame) -> tuple[bool, str]:
    """Apply the header rule of the module docstring to a frame read without a header."""
    first = [cell for cell in frame.iloc[0].tolist() if isinstance(cell, str) and cell.strip()]
    if len(first) < frame.shape[1]:
        return False, "the first row has empty cells"
    for column, cell in zip(frame.columns, first, strict=True):
        if not NAME_PATTERN.match(cell.strip()):
            return False, f"first-row cell {cell[:30]!r} does not look like a column name"
        if (frame[column].iloc[1:].str.strip() == cell.strip()).any():
            return False, f"first-row cell {cell!r} appears again in its column"
    return True, "every first-row cell looks like a column name"


def _read_delimited(
    text: str, path: Path, fmt: str, encoding: str, sep: str | None, header: bool | None
) -> Table:
    notes = []
    if sep is not None:
        delimiter = parse_separator(sep)
        notes.append(f"delimiter {DELIMITER_NAMES.get(delimiter, repr(delimiter))} (--sep)")
    elif fmt == "tsv":
        delimiter = "\t"
        notes.append("delimiter tab (.tsv suffix)")
    else:
        delimiter, why = sniff_delimiter(text)
        notes.append(f"delimiter {why}")
    malformed: list[list[str]] = []
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            skip_blank_lines=False, engine="python", on_bad_lines=malformed.append,
            quoting=quoting_for(delimiter),
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot parse {path} as {fmt.upper()}: {message}") from None
    if header is None:
        header, why = detect_header(frame) if len(frame) > 1 else (False, "a single row")
        notes.append(f"header {'found' if header else 'not found'}: {why}")
    else:
        notes.append("header " + ("expected (columns named)" if header else "off (--no-header)"))
    if delimiter == "\t":
        notes.append("tab-separated: quotes are literal characters (every line is a record)")
    if header:
        cells = ["" if cell is None or cell != cell else str(cell) for cell in frame.iloc[0]]
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = _column_names(cells)
    else:
        frame.columns = [f"column_{i}" for i in range(frame.shape[1])]
    if malformed:
        notes.append(f"{len(malformed)} line(s) had too many fields: counted as malformed")
    return Table(_as_text(frame), path, fmt, encoding, header, delimiter, len(malformed), notes)


def _column_names(cells: list[str]) -> list[str]:
    """Header cells as names: stripped, with blanks and repeats made unique by position."""
    names: list[str] = []
    for index, cell in enumerate(cells):
        name = cell.strip()
        names.append(name if name and name not in names else f"column_{index}")
    return names


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell text or missing (pandas shows missing as NaN), column names as strings."""
    frame = frame.astype(object).map(_cell)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _cell(value: object) -> str | None:
    return None if value is None or value != value else str(value)  # NaN != NaN


def _read_jsonl(text: str, path: Path, encoding: str) -> Table:
    """One JSON object per line; blank lines become empty rows, other lines are malformed."""
    records: list[dict[str, object]] = []
    malformed = 0
    for line in text.splitlines():
        if not line.strip():
            records.append({})
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records.append({key: _cell(value) for key, value in record.items()})
        else:
            malformed += 1
    if not any(records):
        raise UsageError(f"{path} has no JSON objects, one per line (is it JSON Lines?)")
    frame = _as_text(pd.DataFrame.from_records(records))
    notes = ["format JSON Lines: one object per line, keys are the columns"]
    if malformed:
        notes.append(f"{malformed} line(s) were not JSON objects: counted as malformed")
    return Table(frame, path, "jsonl", encoding, True, None, malformed, notes)


def _read_parquet(raw: bytes, path: Path) -> Table:
    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError("reading Parquet needs pyarrow (pip install pyarrow); or save it as CSV")
    try:
        frame = pd.read_parquet(io.BytesIO(raw))
    except Exception as error:  # pyarrow raises many types for a broken file
        raise UsageError(f"cannot read {path} as Parquet: {error}") from None
    frame = _as_text(frame)
    if frame.empty:
        raise UsageError(f"no data rows in {path}")
    return Table(frame, path, "parquet", "binary (Parquet stores UTF-8)", True,
                 notes=["format Parquet (typed columns, read as text)"])
