"""Turning the bytes of a data file into text: which encoding, and how we know.

The order of attempts, so the result is never a surprise:

1. ``--encoding`` given: use it, strictly (bytes it cannot decode are an error, not ``�``).
2. A byte-order mark: UTF-8 with BOM (what Excel writes as "CSV UTF-8") or UTF-16.
3. Binary content (NUL bytes, an image or archive signature): refuse, naming what it looks like.
4. Valid UTF-8: UTF-8. Almost every non-UTF-8 text file fails this test on its first non-ASCII
   byte, so it is a safe first guess.
5. Otherwise charset-normalizer chooses among the legacy encodings people actually export from
   spreadsheets: ``LEGACY_CANDIDATES`` (Russian cp1251 and koi8-r, Western European cp1252).
   Left free to pick any encoding it guesses wrong on short texts (cp1250 for French, Shift-JIS
   for Russian), so we restrict it to this list.
6. If it has no answer: cp1251, then cp1252 strictly, and latin-1 last (it decodes any bytes).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from common.errors import UsageError

LEGACY_CANDIDATES = ("cp1251", "koi8_r", "cp1252")
FALLBACK_ORDER = ("cp1251", "cp1252", "latin-1")
SNIFF_BYTES = 64 * 1024

# The first bytes of files people pass as "CSV" by mistake, and what to call them.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook? save it as CSV first)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls? save it as CSV first)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PAR1", "a Parquet file without the .parquet suffix"),
)


@dataclass(frozen=True)
class Decoded:
    """The text of a file and the encoding it was read with (``how`` says why that one)."""

    text: str
    encoding: str
    how: str


def decode_bytes(raw: bytes, *, forced: str | None = None, name: str = "the file") -> Decoded:
    """Decode ``raw`` following the order above; raise :class:`UsageError` when it is not text."""
    if forced is not None:
        return _decode_forced(raw, forced, name)
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return Decoded(_strict(raw, encoding, name), encoding, "byte-order mark")
    refuse_binary(raw, name)
    try:
        return Decoded(raw.decode("utf-8"), "utf-8", "valid UTF-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw[:SNIFF_BYTES], cp_isolation=list(LEGACY_CANDIDATES)).best()
    if best is not None:
        try:
            return Decoded(raw.decode(best.encoding), best.encoding,
                           "not UTF-8; detected by charset-normalizer")
        except UnicodeDecodeError:
            pass  # the guess fitted the sample but not the whole file: fall through
    for encoding in FALLBACK_ORDER:
        try:
            return Decoded(raw.decode(encoding), encoding, "not UTF-8; first fallback that decodes")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def refuse_binary(raw: bytes, name: str) -> None:
    """Raise when the bytes are clearly not a text table (so pandas never sees an image)."""
    for signature, what in SIGNATURES:
        if raw.startswith(signature):
            raise UsageError(f"{name} looks like {what}, not a text table (CSV, TSV, JSON Lines)")
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise UsageError(f"{name} contains NUL bytes: it is a binary file, not a text table")


def _decode_forced(raw: bytes, encoding: str, name: str) -> Decoded:
    try:
        canonical = codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r} (try utf-8, cp1251, cp1252)") from None
    if not canonical.startswith(("utf-16", "utf-32")):  # their text is full of NUL bytes
        refuse_binary(raw, name)
    if canonical == "utf-8" and raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"  # the BOM is a marker, not a character of the first column name
    return Decoded(_strict(raw, encoding, name), encoding, "forced by --encoding")


def _strict(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{name} is not valid {encoding}: byte {raw[error.start]:#04x} at offset {error.start}"
            " (drop --encoding to detect it, or name the right one)"
        ) from None
