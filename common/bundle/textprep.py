r"""Text preprocessing as data: a JSON spec that turns a raw string into model input ids.

Everything between a raw string and the ids a text model sees is fixed by a :class:`TextSpec`,
saved as JSON beside the model with test vectors (input string → expected ids). The PyTorch side
(stage 3 training, stage 4 bundles) and the torch-free runtime (``common.bundle.runtime``: the
service, the offline app) both encode through :class:`TextEncoder`, so there is one
implementation; a runtime in another language reproduces it from the spec and checks itself on
the test vectors.

The steps, in order, each portable to JavaScript and Swift:

1. **Normalise**: Unicode ``normalization`` form (``"NFKC"``: full-width ``Ｆｒｅｅ`` → ``Free``,
   ligatures split). Python ``unicodedata.normalize``, JS ``s.normalize("NFKC")``, Swift
   ``precomposedStringWithCompatibilityMapping``.
2. **Case**: ``case = "lower"`` is the Unicode default lowercase mapping: Python ``str.lower()``,
   JS ``toLowerCase()``, Swift ``lowercased()``. (Full case folding, ``str.casefold()``, has no
   JavaScript equivalent and maps ``ß`` → ``ss``, so it is not offered.)
3. **Tokens**: the matches, left to right, of ``token_pattern``: one or more alternatives joined
   by ``|``, each a character class of Unicode general categories and literal characters, either
   repeated (``+``: a maximal run) or alone (one character). The default
   ``[\p{L}\p{N}]+|[\p{P}\p{S}]`` makes runs of letters and digits (any script) words and
   every punctuation mark or symbol (``!``, ``£``, an emoji) a token of its own. The same string
   is a valid regex with the same matches in JavaScript (``new RegExp(p, "gu")``), Swift
   (``NSRegularExpression``/ICU) and Python's ``regex`` package. Python's built-in ``re`` lacks
   ``\p{..}``, so here the pattern is parsed and each class spelled out as the code-point ranges
   of the ``unicodedata`` categories it names: one compiled ``re`` (:class:`TokenMatcher`).
   Characters are Unicode code points (in JS iterate with ``Array.from``, never UTF-16 units).
4. **Word ids**: the vocabulary, a list whose index is the id: ``<pad>`` = 0, ``<unk>`` = 1, then
   the training words seen at least ``min_freq`` times, most frequent first (ties alphabetical).
5. **Character n-gram ids** (fastText's trick for unseen and misspelt words), by
   ``ngram_scope``:

   * ``"token"`` (the default): each token is wrapped as ``<token>``; its n-grams are taken for
     n in ``ngram_sizes`` in that order, each n left to right; the tokens' lists are
     concatenated in token order;
   * ``"text"`` (across word boundaries, like scikit-learn's ``analyzer="char"``): the tokens
     are joined with one space U+0020 and wrapped once, ``<tok1 tok2 tok3>``; for each start
     position i, left to right, and for each n in ``ngram_sizes`` in order, the n code points
     from i if that many remain. No tokens, no n-grams (``<>`` is not a text). Punctuation
     tokens count as tokens: ``"Hi!"`` → ``<hi !>``.

   Each n-gram of code points is hashed with 32-bit FNV-1a over its UTF-8 bytes (never Python's
   salted ``hash()``) into ``buckets`` buckets; id = 1 + hash mod buckets, so 0 stays the
   padding id.
6. **Truncate** to the first ``max_words`` word ids and the first ``max_ngrams`` n-gram ids;
   **pad** a batch with 0 to its longest row (at least one column, so an empty string still has a
   row of padding).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import cache, cached_property, lru_cache
from itertools import chain, groupby, repeat
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from common.bundle.jsonfile import read_json_object

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SPEC_FORMAT = "ml-roadmap/text-spec"
SPEC_VERSION = 1
NORMALIZATION_FORMS = ("NFC", "NFKC", "NFD", "NFKD", "none")
CASE_MODES = ("lower", "none")
HASHES = ("fnv1a32",)
TRUNCATIONS = ("head",)
NGRAM_SCOPES = ("token", "text")
DEFAULT_TOKEN_PATTERN = r"[\p{L}\p{N}]+|[\p{P}\p{S}]"
FNV_OFFSET, FNV_PRIME = 0x811C9DC5, 0x01000193
BMP_END = 0xFFFF  # the last code point of the Basic Multilingual Plane
STAND_IN_BASE = 0xE000  # the Private Use Area's first code point (see TokenMatcher)
HASH_CHUNK = 4096  # texts hashed together: bounds the temporary arrays of a large set
MAX_ALTERNATIVES = 10  # 2**10 stand-ins, well inside the Private Use Area's 6,400
_ALTERNATIVE = re.compile(r"\[((?:\\p\{[A-Z][a-z]?\}|[^\\\[\]\-^])+)\](\+?)")
_CLASS_ITEM = re.compile(r"\\p\{([A-Z][a-z]?)\}|(.)")

# Strings every spec's test vectors cover: English, Russian, empty, whitespace only, case and
# spacing variants, full-width and ligature forms (NFKC), digits, symbols, emoji, a long text.
# The last group is for ports whose strings are UTF-16 (JavaScript, Java, C#): characters outside
# the Basic Multilingual Plane (emoji, mathematical letters) are two code units but one code
# point; emoji sequences with skin tones, ZWJ and flags; combining accents; Greek final sigma.
STANDARD_TEST_TEXTS = (
    "Hello world",
    "HELLO   World!!",
    "",
    "   \t\n ",
    "Привет, как дела?",
    "ПРИВЕТ мир",
    "Ｆｒｅｅ ｅｎｔｒｙ ﬁnal",
    "Straße, café, naïve",
    "Call 09061701461 now to claim £900!",
    "ok 👍 see u at 5:30",
    "zxqvbnm-unseen words",
    "Ёлки-палки, ещё 2 часа",
    " ".join(["long"] * 300),
    "Скидка 90%!!! 🔥🔥 Звони: +7 (900) 123-45-67 😱",
    "👍🏽 ок, 👩‍💻 работаю, 🇷🇺🇬🇧 флаги",
    "𝐅𝐑𝐄𝐄 𝟏𝟎𝟎𝟎 𝔭𝔯𝔦𝔷𝔢 🎁",
    "e\u0301te\u0301 й vs и\u0306",
    "ΟΔΟΣ ΣΟΦΟΣ İstanbul",
)


BLANK_MESSAGE = "the text is empty: only whitespace or invisible characters"


def has_content(text: str) -> bool:
    """Whether ``text`` holds anything to read: not only whitespace and invisible characters.

    The one rule for empty text, applied by every door a text comes through (REST, gRPC, the
    offline app, the inbox): spaces of any kind, line breaks, control characters and format
    characters (zero-width space and joiners, the byte-order mark, soft hyphens) do not count.
    """
    return any(not (char.isspace() or unicodedata.category(char) in ("Cc", "Cf"))
               for char in text)


class SpecError(ValueError):
    """A spec or test-vector file that cannot be used (unknown format, bad field, mismatch)."""


@dataclass(frozen=True)
class TextSpec:
    """The full description of raw text → word ids and hashed character n-gram ids.

    Build one from training texts with :func:`build_spec`; save with :func:`save_spec`.
    """

    vocabulary: tuple[str, ...] = (PAD, UNK)
    normalization: str = "NFKC"
    case: str = "lower"
    token_pattern: str = DEFAULT_TOKEN_PATTERN
    min_freq: int = 1
    ngram_sizes: tuple[int, ...] = (2, 3, 4, 5)
    ngram_boundary: tuple[str, str] = ("<", ">")
    hash: str = "fnv1a32"
    buckets: int = 1 << 16
    max_words: int = 128
    max_ngrams: int = 1024
    truncation: str = "head"
    ngram_scope: str = "token"

    def __post_init__(self) -> None:
        problems = []
        if tuple(self.vocabulary[:2]) != (PAD, UNK):
            problems.append(f"vocabulary must start with {PAD!r}, {UNK!r}")
        if len(set(self.vocabulary)) != len(self.vocabulary):
            problems.append("vocabulary has repeated entries")
        if self.normalization not in NORMALIZATION_FORMS:
            problems.append(f"normalization must be one of {NORMALIZATION_FORMS}")
        if self.case not in CASE_MODES:
            problems.append(f"case must be one of {CASE_MODES}")
        if self.hash not in HASHES:
            problems.append(f"hash must be one of {HASHES}")
        if self.truncation not in TRUNCATIONS:
            problems.append(f"truncation must be one of {TRUNCATIONS}")
        if self.ngram_scope not in NGRAM_SCOPES:
            problems.append(f"ngram_scope must be one of {NGRAM_SCOPES}")
        if any(n < 1 for n in self.ngram_sizes):
            problems.append("ngram sizes must be >= 1")
        if self.buckets < 1 or self.max_words < 1 or self.max_ngrams < 1 or self.min_freq < 1:
            problems.append("buckets, max_words, max_ngrams and min_freq must be >= 1")
        if self.buckets > 2**32 - 1:
            problems.append("buckets must be below 2**32 (the hash has 32 bits)")
        if problems:
            raise SpecError("; ".join(problems))
        parse_token_pattern(self.token_pattern)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    @property
    def ngram_rows(self) -> int:
        """Rows an n-gram embedding table needs: every bucket plus the padding id 0."""
        return self.buckets + 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["vocabulary"] = list(self.vocabulary)
        data["ngram_sizes"] = list(self.ngram_sizes)
        data["ngram_boundary"] = list(self.ngram_boundary)
        return {"format": SPEC_FORMAT, "version": SPEC_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TextSpec:
        if data.get("format") != SPEC_FORMAT or data.get("version") != SPEC_VERSION:
            raise SpecError(f"not a {SPEC_FORMAT} v{SPEC_VERSION} document")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"format", "version"}
        if unknown:
            raise SpecError(f"unknown spec fields: {', '.join(sorted(unknown))}")
        values = {k: v for k, v in data.items() if k in known}
        for name in ("vocabulary", "ngram_sizes", "ngram_boundary"):
            if name in values:
                values[name] = tuple(values[name])
        try:
            return cls(**values)
        except TypeError as error:
            raise SpecError(str(error)) from None


def build_spec(texts: Iterable[str], *, min_freq: int = 2, max_vocab: int | None = None,
               **options: Any) -> TextSpec:
    """A spec whose vocabulary holds the words of ``texts`` seen at least ``min_freq`` times.

    ``options`` set the other :class:`TextSpec` fields (``ngram_sizes``, ``buckets``, ...);
    ``max_vocab`` caps the vocabulary (the special tokens included).
    """
    draft = TextSpec(min_freq=min_freq, **options)  # validates the options first
    encoder = TextEncoder(draft)
    counts = Counter(token for text in texts for token in encoder.tokens(text))
    words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    if max_vocab is not None:
        words = words[: max(0, max_vocab - 2)]
    return replace(draft, vocabulary=(PAD, UNK, *words))


@dataclass(frozen=True)
class CharClass:
    """One alternative of a token pattern: a set of general categories and literal characters."""

    categories: frozenset[str]
    literals: frozenset[str]
    repeat: bool  # "+": a maximal run; otherwise one character

    def __contains__(self, char: str) -> bool:
        category = unicodedata.category(char)
        return char in self.literals or category in self.categories or (
            category[0] in self.categories)


def parse_token_pattern(pattern: str) -> tuple[CharClass, ...]:
    """Parse ``[\\p{L}\\p{N}]+|[\\p{P}\\p{S}]``-style patterns into their alternatives.

    Only this portable subset is accepted: classes of ``\\p{X}``/``\\p{Xy}`` and plain
    characters (no ranges, negation or escapes), each optionally followed by ``+``, joined by ``|``.
    """
    alternatives, position = [], 0
    while True:
        match = _ALTERNATIVE.match(pattern, position)
        if match is None:
            raise SpecError(f"unsupported token pattern {pattern!r} at {pattern[position:]!r}; "
                            "expected classes like [\\p{L}\\p{N}]+ joined by |")
        items = [m.groups() for m in _CLASS_ITEM.finditer(match.group(1))]
        alternatives.append(CharClass(frozenset(c for c, _ in items if c),
                                      frozenset(lit for c, lit in items if not c),
                                      repeat=match.group(2) == "+"))
        position = match.end()
        if position == len(pattern):
            return tuple(alternatives)
        if pattern[position] != "|":
            raise SpecError(f"unsupported token pattern {pattern!r} at {pattern[position:]!r}")
        position += 1


@cache
def _bmp_ranges_by_category() -> dict[str, list[tuple[int, int]]]:
    """The general category of every code point below U+10000, as runs: ``{"Lu": [(65, 90), ...]}``.

    65,536 look-ups, iterated in C (milliseconds, once per process). Characters beyond the Basic
    Multilingual Plane are not listed: :class:`TokenMatcher` classifies them one by one.
    """
    runs: dict[str, list[tuple[int, int]]] = {}
    start = 0
    for category, run in groupby(map(unicodedata.category, map(chr, range(BMP_END + 1)))):
        size = len(list(run))
        runs.setdefault(category, []).append((start, start + size - 1))
        start += size
    return runs


class TokenMatcher:
    """A token pattern as one compiled ``re``: the same leftmost-first matches, found in C.

    ``re`` has no ``\\p{..}``, so each class is spelled out as the ranges of the categories it
    names, below U+10000 only, where ``re`` tests a class with one table lookup (above it, ``re``
    walks the ranges one by one, and listing them means scanning all 1.1 million code points).
    The rarer characters, those above U+FFFF (emoji, historic scripts), are classified one by one
    and replaced, for matching only, by a stand-in from the Private Use Area that belongs to
    exactly the same classes; each stand-in code point found in the text is replaced the same
    way, so none is mistaken for another. One character for one, so a match's span in the
    stand-in text is its span in the text.
    """

    def __init__(self, pattern: str) -> None:
        self.alternatives = parse_token_pattern(pattern)
        if len(self.alternatives) > MAX_ALTERNATIVES:
            raise SpecError(f"token pattern {pattern!r} has {len(self.alternatives)} "
                            f"alternatives; at most {MAX_ALTERNATIVES} are supported")
        last_stand_in = STAND_IN_BASE + (1 << len(self.alternatives)) - 1
        self.regex = re.compile("|".join(
            self._class_regex(alternative, 1 << index)
            for index, alternative in enumerate(self.alternatives)))
        self._needs_stand_in = re.compile(f"[\\u{STAND_IN_BASE:04x}-\\u{last_stand_in:04x}"
                                          f"\\U{BMP_END + 1:08x}-\\U{sys.maxunicode:08x}]")
        self._stand_in = lru_cache(maxsize=1 << 12)(self._stand_in_for)

    def _class_regex(self, alternative: CharClass, bit: int) -> str:
        stand_ins = range(STAND_IN_BASE, STAND_IN_BASE + (1 << len(self.alternatives)))
        spans = {(ord(char), ord(char)) for char in alternative.literals if ord(char) <= BMP_END}
        spans.update(*(ranges for category, ranges in _bmp_ranges_by_category().items()
                       if category in alternative.categories
                       or category[0] in alternative.categories))
        members = _merge(spans, leave_out=stand_ins)
        members += [(code, code) for code in stand_ins if (code - STAND_IN_BASE) & bit]
        body = "".join(f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}"
                       for low, high in sorted(members))
        return f"[{body}]" + ("+" if alternative.repeat else "")

    def _stand_in_for(self, char: str) -> str:
        mask = sum(1 << index for index, alternative in enumerate(self.alternatives)
                   if char in alternative)
        return chr(STAND_IN_BASE + mask)

    def findall(self, text: str) -> list[str]:
        """The matches of the pattern in ``text``, left to right."""
        if self._needs_stand_in.search(text) is None:
            return self.regex.findall(text)
        stand_in_text = self._needs_stand_in.sub(lambda m: self._stand_in(m.group()), text)
        return [text[m.start():m.end()] for m in self.regex.finditer(stand_in_text)]


def _merge(spans: Iterable[tuple[int, int]], leave_out: range) -> list[tuple[int, int]]:
    """Sorted ranges joined where they touch, with the code points of ``leave_out`` cut out."""
    merged: list[list[int]] = []
    for low, high in sorted(spans):  # neighbouring runs (Lu next to Ll, ...) become one range
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    cut = []
    for low, high in merged:
        if high < leave_out.start or low >= leave_out.stop:
            cut.append((low, high))
            continue
        if low < leave_out.start:
            cut.append((low, leave_out.start - 1))
        if high >= leave_out.stop:
            cut.append((leave_out.stop, high))
    return cut


@lru_cache(maxsize=16)
def compile_token_pattern(pattern: str) -> TokenMatcher:
    """The :class:`TokenMatcher` of a pattern, built once per process."""
    return TokenMatcher(pattern)


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a: tiny, fast and identical in every language (unlike Python's ``hash``)."""
    value = FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return value


def id_dtype(largest_id: int) -> type[np.signedinteger]:
    """The smallest of int32/int64 that holds every id up to ``largest_id``.

    Ids are kept in int32 (half of int64's memory: a 500,000-message set is ragged int32, not a
    padded int64 matrix); only the padded batch a model is fed becomes int64.
    """
    return np.int32 if largest_id < 2**31 else np.int64


@dataclass(frozen=True)
class RaggedIds:
    """The ids of many rows laid end to end: row i is ``values[offsets[i]:offsets[i + 1]]``.

    A set of texts costs its real number of ids, not rows × the longest row; pad a batch only
    when it is fed to a model (:meth:`padded`).
    """

    values: np.ndarray  # int32 (or int64 past 2**31 ids), every row's ids in row order
    lengths: np.ndarray  # int64, one count per row

    @classmethod
    def from_pieces(cls, pieces: Sequence[np.ndarray], lengths: Sequence[int],
                    dtype: type[np.signedinteger]) -> RaggedIds:
        values = np.concatenate(pieces).astype(dtype, copy=False) if pieces else \
            np.zeros(0, dtype=dtype)
        return cls(values, np.asarray(lengths, dtype=np.int64).reshape(-1))

    @classmethod
    def joined(cls, parts: Iterable[RaggedIds], dtype: DTypeLike) -> RaggedIds:
        """``parts`` laid end to end, ids in ``dtype`` (see :class:`RaggedBuilder`)."""
        builder = RaggedBuilder(dtype)
        for part in parts:
            builder.append(part)
        return builder.build()

    def __len__(self) -> int:
        return len(self.lengths)

    @cached_property
    def offsets(self) -> np.ndarray:
        """``len(self) + 1`` starts: row i begins at ``offsets[i]``, the last is the total
        (computed once: a training epoch takes hundreds of batches from one set)."""
        return np.concatenate([[0], np.cumsum(self.lengths)])

    def padded(self) -> np.ndarray:
        """An int64 ``[rows, max(1, longest)]`` matrix, right-padded with ``PAD_ID``."""
        return _fill_padded(self.lengths, [self.values])

    def take(self, indices: Sequence[int] | np.ndarray) -> RaggedIds:
        """The rows at ``indices``, in that order (one numpy gather, no loop over rows)."""
        indices = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[indices]
        shift = self.offsets[indices] - (np.cumsum(lengths) - lengths)  # source - target start
        positions = np.repeat(shift, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
        return RaggedIds(self.values[positions], lengths)


class RaggedBuilder:
    """Ragged ids gathered chunk by chunk, then laid end to end, never held twice over.

    Each chunk is cast to ``dtype`` when it arrives (a large set is never kept whole in a wider
    type), and :meth:`build` releases each chunk as soon as it is copied, so the set's memory
    peaks at its own size plus one chunk rather than at twice its size.
    """

    def __init__(self, dtype: DTypeLike) -> None:
        self.dtype = np.dtype(dtype)
        self._parts: list[RaggedIds] = []

    def append(self, part: RaggedIds) -> None:
        self._parts.append(RaggedIds(part.values.astype(self.dtype, copy=False), part.lengths))

    def build(self) -> RaggedIds:
        parts, self._parts = self._parts, []
        if len(parts) == 1:
            return parts[0]
        values = np.empty(sum(len(part.values) for part in parts), dtype=self.dtype)
        lengths = np.concatenate([part.lengths for part in parts]) if parts else \
            np.zeros(0, dtype=np.int64)
        parts.reverse()
        start = 0
        while parts:
            part = parts.pop()  # the last reference to the chunk: freed once copied
            values[start : start + len(part.values)] = part.values
            start += len(part.values)
        return RaggedIds(values, lengths)


@dataclass(frozen=True)
class Encoded:
    """One text's model inputs (before padding)."""

    word_ids: list[int]
    ngram_ids: list[int]


class TextEncoder:
    """Applies a :class:`TextSpec`: normalise → tokens → word ids and hashed n-gram ids."""

    def __init__(self, spec: TextSpec) -> None:
        self.spec = spec
        self.word_to_id = {word: index for index, word in enumerate(spec.vocabulary)}
        self._matcher = compile_token_pattern(spec.token_pattern)
        self._word_dtype, self._ngram_dtype = id_dtype(spec.vocab_size), id_dtype(spec.buckets)
        # ngram_scope "token": words repeat heavily across messages, and n-grams even more
        # across words, so each distinct token and n-gram is looked up and hashed once
        # (``cache_info()`` of each tells its hit rate). Whole texts are never cached; "text"
        # n-grams are hashed for a whole batch at once in numpy (:func:`hash_text_ngrams`).
        self.token_ids = lru_cache(maxsize=1 << 18)(self._token_ids)
        self.ngram_id = lru_cache(maxsize=1 << 18)(self._ngram_id)

    def normalize(self, text: str) -> str:
        if self.spec.normalization != "none":
            text = unicodedata.normalize(self.spec.normalization, text)
        return text.lower() if self.spec.case == "lower" else text

    def tokens(self, text: str) -> list[str]:
        """The pattern's matches in the normalised text, in order (regex leftmost-first)."""
        return self._matcher.findall(self.normalize(text))

    def ngrams(self, token: str) -> list[str]:
        """Character n-grams of one token, with boundary marks, shortest n first."""
        start, end = self.spec.ngram_boundary
        marked = f"{start}{token}{end}"
        return [marked[i : i + n] for n in self.spec.ngram_sizes
                for i in range(len(marked) - n + 1)]

    def _ngram_id(self, ngram: str) -> int:
        """One n-gram's id: what :attr:`ngram_id` caches."""
        return 1 + fnv1a32(ngram.encode("utf-8", "surrogatepass")) % self.spec.buckets

    def _token_ids(self, token: str) -> tuple[int, np.ndarray]:
        """One token's word id and n-gram ids (read-only): what :attr:`token_ids` caches."""
        ngram_ids = np.fromiter(map(self.ngram_id, self.ngrams(token)), dtype=self._ngram_dtype)
        ngram_ids.flags.writeable = False  # shared by every text that holds the token
        return self.word_to_id.get(token, UNK_ID), ngram_ids

    def encode_ragged(self, texts: Sequence[str]) -> tuple[RaggedIds, RaggedIds]:
        """``(word_ids, ngram_ids)`` of every text, ragged, within the spec's limits."""
        token_lists = list(map(self.tokens, texts))
        heads = [tokens[: self.spec.max_words] for tokens in token_lists]
        # one lookup per word, all in C (``map`` with a default), for the whole batch at once
        word_ids = map(self.word_to_id.get, chain.from_iterable(heads), repeat(UNK_ID))
        words = RaggedIds(np.fromiter(word_ids, dtype=self._word_dtype),
                          np.fromiter(map(len, heads), dtype=np.int64, count=len(texts)))
        if self.spec.ngram_scope == "text":
            return words, self._text_ngram_ids(token_lists)
        return words, self._token_ngram_ids(token_lists)

    def _text_ngram_ids(self, token_lists: Sequence[list[str]]) -> RaggedIds:
        """``ngram_scope = "text"``: the tokens joined by one space and wrapped once."""
        start, end = self.spec.ngram_boundary
        marked = [f"{start}{' '.join(tokens)}{end}" if tokens else "" for tokens in token_lists]
        parts = [hash_text_ngrams(marked[i : i + HASH_CHUNK], self.spec.ngram_sizes,
                                  self.spec.buckets, self.spec.max_ngrams)
                 for i in range(0, len(marked), HASH_CHUNK)]
        return RaggedIds.joined(parts, self._ngram_dtype)

    def _token_ngram_ids(self, token_lists: Sequence[list[str]]) -> RaggedIds:
        """``ngram_scope = "token"``: each token's cached ids, the head kept within the limit."""
        pieces: list[np.ndarray] = []
        lengths = np.zeros(len(token_lists), dtype=np.int64)
        for row, tokens in enumerate(token_lists):
            count = 0
            for _, ngram_ids in map(self.token_ids, tokens):
                piece = ngram_ids[: self.spec.max_ngrams - count]  # whole tokens, then part of one
                pieces.append(piece)
                count += len(piece)
                if count == self.spec.max_ngrams:
                    break
            lengths[row] = count
        return RaggedIds.from_pieces(pieces, lengths, self._ngram_dtype)

    def encode(self, text: str) -> Encoded:
        words, ngrams = self.encode_ragged([text])
        return Encoded(words.values.tolist(), ngrams.values.tolist())

    def decode(self, word_ids: Sequence[int]) -> str:
        """Word ids back to text (padding dropped). Hashed n-grams cannot be decoded: one-way."""
        vocabulary = self.spec.vocabulary
        return " ".join(vocabulary[i] if 0 <= i < len(vocabulary) else UNK
                        for i in word_ids if i != PAD_ID)

    def encode_batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(word_ids, ngram_ids)`` as int64 arrays ``[batch, longest]``, padded with 0."""
        words, ngrams = self.encode_ragged(texts)
        return words.padded(), ngrams.padded()


def hash_text_ngrams(marked: Sequence[str], sizes: Sequence[int], buckets: int, limit: int
                     ) -> RaggedIds:
    """The n-gram ids of each string (by start position, then by n in ``sizes``; the first
    ``limit``), hashed for all strings at once.

    FNV-1a is a left fold over bytes, so the hash of the n-gram at position p extends the hash
    of the (n-1)-gram there by the UTF-8 bytes of code point p + n - 1: every n costs one
    vectorised step over all positions of all strings, never a Python loop over n-grams. A
    service classifies a few texts per call, so the steps are few numpy calls, not many; each
    works on whole contiguous columns (numpy is slow on a broadcast whose inner axis has only
    ``len(sizes)`` items).
    """
    lengths = np.fromiter(map(len, marked), dtype=np.int64, count=len(marked))
    joined, longest = "".join(marked), max(sizes)
    total = len(joined)
    byte_columns, has_byte = _utf8_columns(joined, pad=longest)
    grid = np.empty((total, len(sizes)), dtype=np.uint32)  # [position, size]
    hashes = np.full(total, FNV_OFFSET, dtype=np.uint32)
    for n in range(1, longest + 1):  # code point n - 1 of each n-gram: rows n - 1 onwards
        window = slice(n - 1, n - 1 + total)
        _fnv1a_step(hashes, [column[window] for column in byte_columns],
                    [mask[window] for mask in has_byte])
        for column, size in enumerate(sizes):
            if size == n:
                grid[:, column] = hashes
    to_end = np.repeat(np.cumsum(lengths), lengths) - np.arange(total)  # code points left
    fits = np.empty(grid.shape, dtype=bool)
    for column, size in enumerate(sizes):
        np.greater_equal(to_end, size, out=fits[:, column])
    grams = grid.ravel()[fits.ravel()]  # row-major: by position, then by size
    counts = np.zeros(len(marked), dtype=np.int64)
    for size in sizes:
        counts += np.maximum(lengths - size + 1, 0)
    kept = np.minimum(counts, limit)
    if (counts > limit).any():  # keep the head of each string's n-grams
        rank = np.arange(len(grams)) - np.repeat(np.cumsum(counts) - counts, counts)
        grams = grams[rank < np.repeat(kept, counts)]
    return RaggedIds(_bucket_ids(grams, buckets), kept)


def _bucket_ids(hashes: np.ndarray, buckets: int) -> np.ndarray:
    """``1 + hash mod buckets`` (uint32): a mask when ``buckets`` is a power of two, as the
    course's specs are, since numpy's integer remainder is several times slower."""
    if buckets & (buckets - 1) == 0:
        ids = hashes & np.uint32(buckets - 1)
    else:
        ids = hashes % np.uint32(buckets)
    ids += np.uint32(1)  # at most buckets, below 2**32
    return ids


def _utf8_columns(text: str, pad: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each code point's UTF-8 bytes as columns: column j holds byte j of every code point
    (then ``pad`` zeros), and ``has_byte[j - 1]`` says which code points have a byte j.

    The bytes come from Python's own encoder: a code point starts at every byte that is not a
    continuation byte (``10xxxxxx``). ASCII-only text is one column and no masks.
    """
    encoded = text.encode("utf-8", "surrogatepass")
    if text.isascii():
        return [np.frombuffer(encoded + bytes(pad), dtype=np.uint8).astype(np.uint32)], []
    data = np.frombuffer(encoded + bytes(3), dtype=np.uint8)  # a last code point's bytes 1-3
    starts = np.flatnonzero((data[: len(encoded)] & 0xC0) != 0x80)
    widths = np.empty(len(starts), dtype=np.int64)  # bytes per code point
    np.subtract(starts[1:], starts[:-1], out=widths[:-1])
    widths[-1] = len(encoded) - starts[-1]
    columns, has_byte = [], []
    for j in range(int(widths.max())):  # byte j of a code point that has fewer is never read
        column = np.zeros(len(starts) + pad, dtype=np.uint32)
        column[: len(starts)] = data[starts + j]
        columns.append(column)
        if j:
            mask = np.zeros(len(starts) + pad, dtype=bool)
            np.greater(widths, j, out=mask[: len(starts)])
            has_byte.append(mask)
    return columns, has_byte


def _fnv1a_step(hashes: np.ndarray, byte_columns: Sequence[np.ndarray],
                has_byte: Sequence[np.ndarray]) -> None:
    """Extend every hash, in place, by its code point's UTF-8 bytes (uint32 wraps: mod 2**32).

    Every code point has a first byte; a later byte applies only where the code point has it.
    """
    prime = np.uint32(FNV_PRIME)
    hashes ^= byte_columns[0]
    hashes *= prime
    for column, mask in zip(byte_columns[1:], has_byte, strict=True):
        np.copyto(hashes, (hashes ^ column) * prime, where=mask)


def pad_ids(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Right-pad rows with ``PAD_ID`` into an int64 matrix at least one column wide."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    return _fill_padded(lengths, [np.asarray(row, dtype=np.int64) for row in rows])


def _fill_padded(lengths: np.ndarray, pieces: Sequence[np.ndarray]) -> np.ndarray:
    """A ``[rows, longest]`` matrix of ``PAD_ID`` holding ``pieces`` laid end to end.

    One numpy fill, not a loop over rows: the cells left of each row's length, read row by row,
    are exactly the rows' values laid end to end.
    """
    width = max(1, int(lengths.max(initial=0)))
    out = np.zeros((len(lengths), width), dtype=np.int64)  # PAD_ID is 0
    if pieces:
        out[np.arange(width) < lengths[:, None]] = pieces[0] if len(pieces) == 1 else \
            np.concatenate(pieces)
    return out


def save_spec(spec: TextSpec, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec.to_json(), ensure_ascii=False, indent=1) + "\n",
                    encoding="utf-8")
    return path


def load_spec(path: Path) -> TextSpec:
    return TextSpec.from_json(read_json_object(path, error=SpecError, what="text spec"))


def test_vectors_path(spec_path: Path) -> Path:
    """Where the test vectors of a spec live: ``spec.json`` → ``spec.vectors.json``."""
    return spec_path.with_name(f"{spec_path.stem}.vectors.json")


def make_test_vectors(encoder: TextEncoder, texts: Iterable[str]) -> list[dict[str, Any]]:
    """Input → every intermediate a port needs to check itself against, step by step."""
    vectors = []
    for text in texts:
        encoded = encoder.encode(text)
        vectors.append({"text": text, "normalized": encoder.normalize(text),
                        "tokens": encoder.tokens(text), "word_ids": encoded.word_ids,
                        "ngram_ids": encoded.ngram_ids})
    return vectors


def save_spec_with_vectors(spec: TextSpec, path: Path,
                           extra_texts: Iterable[str] = ()) -> tuple[Path, Path]:
    """Write the spec and, beside it, test vectors for the standard strings plus ``extra_texts``."""
    save_spec(spec, path)
    vectors = make_test_vectors(TextEncoder(spec), [*STANDARD_TEST_TEXTS, *extra_texts])
    target = test_vectors_path(path)
    target.write_text(json.dumps({"format": f"{SPEC_FORMAT}-vectors", "vectors": vectors},
                                 ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path, target


def check_test_vectors(encoder: TextEncoder, path: Path) -> list[str]:
    """The inputs whose encoding differs from the stored vectors (empty when all reproduce)."""
    try:
        vectors = json.loads(Path(path).read_text(encoding="utf-8"))["vectors"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise SpecError(f"cannot read test vectors {path}: {error}") from None
    failed = []
    for vector in vectors:
        encoded = encoder.encode(vector["text"])
        if (encoded.word_ids != vector["word_ids"] or encoded.ngram_ids != vector["ngram_ids"]
                or encoder.tokens(vector["text"]) != vector["tokens"]):
            failed.append(vector["text"])
    return failed
