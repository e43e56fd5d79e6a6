"""Thai phonetic keys of persons' names, so that possible duplicates are found by a query.

A name is reduced to its first and last words without the title (นาย, นางสาว, ด.ช. ...), each
word to its Thai soundex code (PyThaiNLP's lk82: Lorchirachoonkul 1982, made for Thai names), so
that spellings that sound alike (ศรีสุข / สีสุก, มาลี / มาลีย์) share one key. Words in Latin
letters are kept as they are written, in lower case (no Thai soundex applies to them).
"""

from __future__ import annotations

import re

# NOTE: only the soundex module is imported: it is pure Python and needs no data download.
from pythainlp.soundex import lk82

# Longest first: "นางสาว" before "นาง", "เด็กหญิง" before "เด็ก".
TITLES = ("นางสาว", "เด็กหญิง", "เด็กชาย", "ด.ญ.", "ด.ช.", "น.ส.", "ดญ.", "ดช.", "นาง", "นาย",
          "mrs. ", "mrs ", "miss ", "ms. ", "ms ", "mr. ", "mr ")
_THAI = re.compile(r"[\u0E00-\u0E7F]")
_NOT_WORD = re.compile(r"[^\w\u0E00-\u0E7F]+")
KEY_LENGTH = 40


def name_words(full_name: str) -> list[str]:
    """The words of a name without its title (and without dots or dashes between words)."""
    text = " ".join((full_name or "").split()).lower()
    for title in TITLES:
        if text.startswith(title):
            text = text[len(title):].lstrip()
            break
    return [w for w in (_NOT_WORD.sub("", part) for part in text.split(" ")) if w]


def word_key(word: str) -> str:
    """One word's key: its Thai soundex code, or the word itself in Latin letters."""
    if _THAI.search(word):
        return lk82(word)
    return word.lower()[:12]


def name_key(full_name: str) -> str | None:
    """The phonetic key of a full name ("first:last"), or None when it has no word."""
    words = name_words(full_name)
    if not words:
        return None
    last = word_key(words[-1]) if len(words) > 1 else ""
    return f"{word_key(words[0])}:{last}"[:KEY_LENGTH]
