"""Tokens of a question and the normalization shared by questions, names and values.

The same :func:`norm` is applied to question words, table and column names and stored
values, so matching only needs equality of normalized forms (``categories`` ->
``category``, ``statuses`` -> ``status``). It is a consistent stemmer, not a dictionary:
``species`` and ``specy`` are the same word to it, on both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Token", "name_words", "norm", "parse_number", "phrase_key", "tokenize", "words_of"]

_IRREGULAR = {
    "people": "person", "persons": "person", "children": "child", "men": "man", "women": "woman",
    "mice": "mouse", "geese": "goose", "feet": "foot", "teeth": "tooth", "data": "data",
    "indices": "index", "matrices": "matrix", "analyses": "analysis", "criteria": "criterion",
}
_KEEP = ("ss", "us", "is", "ous", "ics")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
    "dozen": 12,
}
_TOKEN_RE = re.compile(
    r"""(?P<dq>"[^"]+")"""
    r"""|(?<![\w])'(?P<sq>[^']+)'(?![\w])"""
    r"""|(?P<date>\d{4}-\d{2}-\d{2})"""
    r"""|(?P<decade>(?:1[0-9]|20)\d0['’]?s)\b"""
    r"""|(?P<num>[$€£]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:%|[kKmM](?![a-zA-Z]))?)"""
    r"""|(?P<op>>=|<=|!=|<>|[<>=])"""
    r"""|(?P<word>[^\W\d_][\w]*(?:['’][a-zA-Z]+)?)""",
    re.UNICODE,
)


@lru_cache(maxsize=65536)
def norm(word: str) -> str:
    """Lower-case, singular-ish form of one word (``Categories`` -> ``category``).

    Parameters
    ----------
    word : str
        One word (no spaces).

    Returns
    -------
    str
        The normalized form; identical inputs up to case and plural give identical output.
    """
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses") or w.endswith(("xes", "ches", "shes", "zes", "uses")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(_KEEP):
        return w[:-1]
    return w


@dataclass(frozen=True)
class Token:
    """One token of a question.

    Attributes
    ----------
    text
        As written (quotes removed for quoted strings).
    low
        Lower case.
    key
        Normalized (:func:`norm`) form used for matching.
    kind
        ``"word"``, ``"number"``, ``"date"``, ``"quoted"`` or ``"op"``.
    number
        Numeric value for numbers (``1.5k`` -> 1500), else None.
    index
        Position in the token list.
    """

    text: str
    low: str
    key: str
    kind: str
    number: float | None
    index: int

    @property
    def capitalized(self) -> bool:
        return self.kind == "word" and self.text[:1].isupper()


def parse_number(text: str) -> float | None:
    """``"1,200"`` -> 1200, ``"$5k"`` -> 5000, ``"12%"`` -> 12, ``"five"`` -> 5, else None."""
    low = text.lower().strip()
    if low in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[low])
    low = low.lstrip("$€£").rstrip("%").replace(",", "")
    scale = 1.0
    if low[-1:] in ("k", "m"):
        scale = 1_000.0 if low[-1] == "k" else 1_000_000.0
        low = low[:-1]
    try:
        return float(low) * scale
    except ValueError:
        return None


def tokenize(question: str) -> list[Token]:
    """Split a question into tokens; quoted strings stay one token.

    Parameters
    ----------
    question : str
        The question as typed.

    Returns
    -------
    list of Token
    """
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(question):
        kind = m.lastgroup or "word"
        text = m.group(kind)
        if kind == "dq":
            kind, text = "quoted", text[1:-1]
        elif kind == "sq":
            kind = "quoted"
        number = None
        if kind == "num":
            kind, number = "number", parse_number(text)
        elif kind == "decade":
            number = float(text[:4])
        elif kind == "word" and text.lower() in _NUMBER_WORDS:
            kind, number = "number", float(_NUMBER_WORDS[text.lower()])
        key = norm(text) if kind == "word" else text.lower()
        out.append(Token(text, text.lower(), key, kind, number, len(out)))
    return out


def words_of(text: str) -> tuple[str, ...]:
    """Normalized words of a free text or stored value (``"North America"`` -> ``("north", "america")``)."""
    return tuple(t.key for t in tokenize(str(text)) if t.kind in ("word", "number", "date"))


@lru_cache(maxsize=16384)
def name_words(name: str) -> tuple[str, ...]:
    """Normalized words of an identifier: ``unit_price`` / ``unitPrice`` -> ``("unit", "price")``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    spaced = re.sub(r"[^0-9A-Za-z]+", " ", spaced)
    return tuple(norm(w) for w in spaced.split() if w)


def phrase_key(words: tuple[str, ...] | list[str]) -> str:
    """The lookup key of a normalized word sequence."""
    return " ".join(words)
