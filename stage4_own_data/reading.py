"""Reading a labelled table (CSV, TSV, JSON Lines, Parquet) into strings, saying what was guessed.

Every cell comes back as text or missing: types are decided later (a label "01" must stay
"01"). Every record of the file becomes a row or a counted malformed record, and each carries the
line number an editor shows, so the report can point at it.

What a record is, by one stated rule:

* lines end at LF, CRLF or a lone CR, in any mix (files passed between Windows, old Macs and
  Linux have all three); a final line end does not start another line;
* tab-separated files (``.tsv``, or a tab delimiter): every line is one record and quotes are
  literal characters — message data is full of unbalanced quotes, and a quote must never swallow
  the lines after it;
* other delimited files (CSV): RFC 4180 — a field in double quotes may hold the delimiter, quotes
  written twice (``""``) and line breaks, so it may span lines and is still one record. A record
  that cannot be parsed (an opening quote that is never closed, text after a closing quote) is
  counted as malformed at the line it starts on, and reading goes on at the next line;
* a record with more fields than the first one is malformed; a shorter one is padded with missing
  cells (cleaning then counts it as an empty text or a missing label);
* JSON Lines: every line is a record; a line that is not a JSON object is malformed.

Guesses, each reported in :attr:`Table.notes`:

* format: from the suffix (``.tsv``, ``.jsonl``, ``.parquet``; anything else is CSV), looking
  through a ``.gz`` suffix (gzip files are decompressed first);
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
import importlib.util
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

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
LINE_END = re.compile(r"\r\n|\r|\n")
GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED_BYTES = 4 << 30  # a gzip file that expands further is refused, not read
SPANNING_NOTE_LINES = 2  # records spanning more lines than this are pointed out in the notes
MALFORMED_SHOWN = 80  # characters of a malformed record kept for the report


@dataclass(frozen=True)
class Malformed:
    """A record the reader could not split into the table's columns, and where it starts."""

    line: int
    text: str
    why: str


@dataclass
class Table:
    """The rows of one file as strings, and how it was read."""

    frame: pd.DataFrame
    path: Path
    format: str
    encoding: str
    header: bool
    lines: list[int]  # the line each row of ``frame`` starts on (1 = the file's first line)
    delimiter: str | None = None
    malformed: list[Malformed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def values(self, column: str) -> list[str | None]:
        """One column as Python strings, ``None`` where the cell is missing."""
        return [_cell(value) for value in self.frame[column].tolist()]

    @property
    def malformed_rows(self) -> int:
        return len(self.malformed)

    @property
    def rows(self) -> int:
        """Every data record the file holds, malformed ones included."""
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
    name = path.name[:-3] if path.suffix.lower() == ".gz" else path.name
    fmt = SUFFIX_FORMATS.get(Path(name).suffix.lower(), "csv")
    if fmt == "parquet":
        return _read_parquet(path.read_bytes(), path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    notes = []
    if path.suffix.lower() == ".gz" or raw.startswith(GZIP_MAGIC):
        raw = _gunzip(raw, path)
        notes.append(f"gzip-compressed: decompressed, read as {name}")
    if not raw.strip():
        raise UsageError(f"input file is empty: {path}")
    decoded = decode_bytes(raw, forced=encoding, name=str(path))
    del raw  # each copy of a big file held at once is peak memory: bytes, text, lines, cells
    if not decoded.text.lstrip("\ufeff").strip():
        raise UsageError(f"input file has no text: {path}")
    notes.append(f"encoding {decoded.encoding} ({decoded.how})")
    lines = split_lines(decoded.text.lstrip("\ufeff"))
    chosen = decoded.encoding
    del decoded
    if fmt == "jsonl":
        table = _read_jsonl(lines, path, chosen)
    else:
        table = _read_delimited(lines, path, fmt, chosen, sep, header)
    table.notes[:0] = notes
    if table.frame.empty and not table.malformed:
        raise UsageError(f"{path} has a header but no data rows")
    return table


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` by the module's rule: LF, CRLF or a lone CR ends a line."""
    lines = LINE_END.split(text)
    if lines and lines[-1] == "":  # a final line end closes the last line, it opens no new one
        lines.pop()
    return lines


def parse_separator(sep: str) -> str:
    """``--sep`` as typed on a shell: ``\\t`` and ``tab`` mean a tab."""
    value = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(sep, sep)
    if len(value) != 1 or value in "\r\n\"":
        raise UsageError(f"--sep must be one character other than a quote or a line end "
                         f"(or 'tab'), got {sep!r}")
    return value


def sniff_delimiter(lines: list[str]) -> tuple[str, str]:
    """Pick the delimiter that splits sample lines most consistently; return it and why."""
    sample = lines[:SNIFF_LINES]
    scored = []
    for delimiter in DELIMITERS:
        counts = [len(fields) for _, fields in records(sample, delimiter)
                  if not isinstance(fields, Malformed) and fields != [""]]
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


def records(lines: list[str], delimiter: str) -> Iterator[tuple[int, list[str] | Malformed]]:
    """``(first line number, fields)`` per record, or a :class:`Malformed` where parsing failed.

    Tab: one record per line, quotes literal. Anything else: RFC 4180 through the csv module, fed
    line by line so that line numbers are the editor's; after a record that cannot be parsed,
    reading resumes on the line after the one it started on.
    """
    if delimiter == "\t":
        for number, line in enumerate(lines, start=1):
            yield number, line.split("\t")
        return
    _allow_long_fields()
    start = 0
    while start < len(lines):
        reader = csv.reader((line + "\n" for line in lines[start:]), delimiter=delimiter,
                            strict=True)
        consumed = 0
        try:
            for fields in reader:
                yield start + consumed + 1, fields or [""]  # a blank line: one empty field
                consumed = reader.line_num
            return
        except csv.Error as error:
            first = start + consumed  # 0-based index of the line the failed record starts on
            why = ("a quote opened here is never closed" if "end of data" in str(error)
                   else str(error))
            yield first + 1, Malformed(first + 1, lines[first][:MALFORMED_SHOWN], why)
            start = first + 1


def _allow_long_fields() -> None:
    """Let the csv module read fields of any size (its default limit is 128 KiB): a long text is
    the cleaner's business (``too_long``, counted), not a reason to stop reading."""
    limit = 1 << 31
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # a C long of 32 bits
            limit //= 2


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
    lines: list[str], path: Path, fmt: str, encoding: str, sep: str | None, header: bool | None
) -> Table:
    notes = []
    if sep is not None:
        delimiter = parse_separator(sep)
        notes.append(f"delimiter {DELIMITER_NAMES.get(delimiter, repr(delimiter))} (--sep)")
    elif fmt == "tsv":
        delimiter = "\t"
        notes.append("delimiter tab (.tsv suffix)")
    else:
        delimiter, why = sniff_delimiter(lines)
        notes.append(f"delimiter {why}")
    notes.append("tab-separated: every line is a record, quotes are literal characters"
                 if delimiter == "\t" else
                 "CSV (RFC 4180): a quoted field may hold line breaks and span lines")
    rows: list[list[str]] = []
    starts: list[int] = []
    malformed: list[Malformed] = []
    spanning: list[tuple[int, int]] = []
    width: int | None = None
    for line, last, fields in _with_last_lines(records(lines, delimiter), len(lines)):
        if isinstance(fields, Malformed):
            malformed.append(fields)
            continue
        width = width or len(fields)
        if len(fields) > width:
            malformed.append(Malformed(line, _shown(delimiter.join(fields)),
                                       f"{len(fields)} fields, the table has {width}"))
            continue
        if last - line + 1 > SPANNING_NOTE_LINES:
            spanning.append((line, last))
        rows.append(fields + [None] * (width - len(fields)))  # type: ignore[list-item]
        starts.append(line)
    if not rows:
        raise UsageError(f"no record of {path} could be read ({len(malformed)} malformed, e.g. "
                         f"line {malformed[0].line}: {malformed[0].why})")
    frame = pd.DataFrame(rows, dtype=object)
    if header is None:
        header, why = detect_header(frame) if len(frame) > 1 else (False, "a single row")
        notes.append(f"header {'found' if header else 'not found'}: {why}")
    else:
        notes.append("header " + ("expected (columns named)" if header else "off (--no-header)"))
    if delimiter == "\t":
        notes.append("tab-separated: quotes are literal characters (every line is a record)")
    if header:
        cells = ["" if cell is None else str(cell) for cell in frame.iloc[0]]
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = _column_names(cells)
        starts = starts[1:]
    else:
        frame.columns = [f"column_{i}" for i in range(frame.shape[1])]
    if malformed:
        notes.append(f"{len(malformed)} record(s) could not be split into the table's columns "
                     f"(first at line {malformed[0].line}: {malformed[0].why}): counted as "
                     "malformed")
    if spanning:
        first, last = max(spanning, key=lambda span: span[1] - span[0])
        notes.append(f"{len(spanning)} record(s) span several lines through quoted line breaks "
                     f"(the longest: lines {first}-{last}); if that is not intended, look for an "
                     "unbalanced quote there")
    return Table(_as_text(frame), path, fmt, encoding, header, starts, delimiter, malformed, notes)


def _with_last_lines(
    parsed: Iterator[tuple[int, list[str] | Malformed]], total_lines: int
) -> Iterator[tuple[int, int, list[str] | Malformed]]:
    """``(first line, last line, fields)`` per record, read as a stream with a progress bar.

    A record ends on the line before the next one starts, so each is yielded once the next has
    been parsed; the records are never all held at once.
    """
    with tqdm(total=total_lines, desc="reading", unit=" lines", unit_scale=True,
              disable=None) as bar:
        previous = next(parsed, None)
        for current in parsed:
            bar.update(current[0] - 1 - bar.n)
            yield previous[0], current[0] - 1, previous[1]  # type: ignore[index]
            previous = current
        if previous is not None:
            bar.update(total_lines - bar.n)
            yield previous[0], total_lines, previous[1]


def _shown(text: str) -> str:
    return text[:MALFORMED_SHOWN]


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


def _read_jsonl(lines: list[str], path: Path, encoding: str) -> Table:
    """One JSON object per line; blank lines become empty rows, other lines are malformed."""
    records_: list[dict[str, object]] = []
    starts: list[int] = []
    malformed: list[Malformed] = []
    for number, line in enumerate(tqdm(lines, desc="reading", unit=" lines", unit_scale=True,
                                       disable=None), start=1):
        if not line.strip():
            records_.append({})
            starts.append(number)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records_.append({key: _cell(value) for key, value in record.items()})
            starts.append(number)
        else:
            malformed.append(Malformed(number, _shown(line), "not a JSON object"))
    if not any(records_):
        raise UsageError(f"{path} has no JSON objects, one per line (is it JSON Lines?)")
    frame = _as_text(pd.DataFrame.from_records(records_))
    notes = ["format JSON Lines: one object per line, keys are the columns"]
    if malformed:
        notes.append(f"{len(malformed)} line(s) were not JSON objects: counted as malformed")
    return Table(frame, path, "jsonl", encoding, True, starts, None, malformed, notes)


def _gunzip(raw: bytes, path: Path) -> bytes:
    """The decompressed bytes of a gzip file, refusing a damaged or over-large one."""
    if not raw.startswith(GZIP_MAGIC):
        raise UsageError(f"cannot decompress {path}: it is named .gz but is not a gzip file")
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, MAX_DECOMPRESSED_BYTES)
    except zlib.error as error:
        raise UsageError(f"cannot decompress {path}: {error}") from None
    if decompressor.unconsumed_tail:
        raise UsageError(f"{path} expands to more than {MAX_DECOMPRESSED_BYTES >> 30} GiB: "
                         "split it or decompress it yourself")
    if not decompressor.eof:
        raise UsageError(f"cannot decompress {path}: the gzip file is truncated")
    return data


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
                 list(range(1, len(frame) + 1)),
                 notes=["format Parquet (typed columns, read as text; 'line' is the row number)"])
