"""Geocoders: free-text Thai addresses and coordinates to places, offline or via Nominatim."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from geo import gazetteer
from geo.gazetteer import Place

__all__ = [
    "ERROR_MESSAGES",
    "OUTSIDE_KM",
    "PRECISIONS",
    "Candidate",
    "GazetteerGeocoder",
    "GeocodeError",
    "Geocoder",
    "NominatimGeocoder",
    "geocode_text",
    "make_geocoder",
    "parse_coordinates",
    "reverse_point",
    "warm_up",
]

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark a message for translation (as console.errors.N_, without importing Flask)."""
    return message


PRECISIONS = ("point", "subdistrict", "district", "province")
# A point in Thailand's bbox farther than this from every subdistrict centre is taken as abroad
# (the sparsest subdistricts, e.g. Laiwo in Sangkhla Buri, have a neighbour within ~41 km).
OUTSIDE_KM = 45.0
MAX_INPUT_CHARS = 300
MAX_LIMIT = 50
DEFAULT_USER_AGENT = "hotline-1300-dispatch-console"

ERROR_MESSAGES = {
    "empty": N_("Type an address, a place name or coordinates."),
    "unknown_place": N_("No place in Thailand matches this address."),
    "outside_thailand": N_("These coordinates are outside Thailand."),
    "bad_coordinates": N_("These are not valid coordinates."),
    "unavailable": N_("The geocoding service is unavailable; pick the place from the lists."),
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible location for a geocoded text or point."""

    lat: float | None
    lon: float | None
    precision: str  # 'point' | 'subdistrict' | 'district' | 'province' (of lat/lon)
    province_code: str | None
    district_code: str | None
    subdistrict_code: str | None
    label: str  # Thai label, e.g. 'ต.ท่าทอง อ.เมืองพิษณุโลก จ.พิษณุโลก'
    score: float  # 0..1 confidence
    source: str  # 'gazetteer' | 'nominatim'


class GeocodeError(ValueError):
    """A geocoding failure with a message key for the user ('outside_thailand', ...)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        """Keep the key and the (untranslated) user-facing message."""
        self.code = code
        self.message = message if message is not None else ERROR_MESSAGES.get(code, code)
        super().__init__(self.message)


class Geocoder(Protocol):
    """Turns text into candidate locations and a point into its place."""

    def geocode(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Candidates best first; [] when nothing matches."""
        ...

    def reverse(self, lat: float, lon: float) -> Candidate:
        """The place at a point; GeocodeError('outside_thailand' / 'bad_coordinates')."""
        ...


# --------------------------------------------------------------------------- text folding

_THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_CLEAN_TABLE = str.maketrans(
    {
        **{ord(d): str(i) for i, d in enumerate(_THAI_DIGITS)},
        **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None),
        **dict.fromkeys(map(ord, "\t\r\n\u00a0\u3000"), " "),
    }
)
_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")  # NFKC splits ำ into ํ + า
_NOT_NAME = re.compile(r"[^a-z\u0e01-\u0e2e\u0e30-\u0e3a\u0e40-\u0e45\u0e47-\u0e4e]+")
# Letters that sound alike or are often confused when typing Thai names; marks dropped.
_TH_PHONETIC = str.maketrans(
    {
        **dict.fromkeys(map(ord, "ศษ"), "ส"),
        **dict.fromkeys(map(ord, "ฑฒธ"), "ท"),
        **dict.fromkeys(map(ord, "ฆฅ"), "ค"),
        ord("ณ"): "น",
        ord("ญ"): "ย",
        ord("ฎ"): "ด",
        ord("ฏ"): "ต",
        ord("ภ"): "พ",
        ord("ฬ"): "ล",
        ord("ฃ"): "ข",
        ord("ฐ"): "ถ",
        ord("ใ"): "ไ",
        ord("ี"): "ิ",
        ord("ู"): "ุ",
        ord("ื"): "ึ",
        **dict.fromkeys(map(ord, "\u0e45\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e4d\u0e4e"), None),
    }
)
_EN_PHONETIC = (
    (re.compile(r"([bcdgkpt])h"), r"\1"),
    (re.compile(r"ue|oe"), "u"),
    (re.compile(r"oo|ou"), "u"),
    (re.compile(r"ee"), "i"),
    (re.compile(r"(?<=[aeiou])h(?![aeiou])"), ""),
    (re.compile(r"(.)\1+"), r"\1"),
)


def _clean(text: str) -> str:
    """Unicode-normalise free text: NFKC, Thai digits, zero-width marks, sara am, spacing."""
    text = unicodedata.normalize("NFKC", text).translate(_CLEAN_TABLE)
    text = _SARA_AM.sub("\\1\u0e33", text).replace("เเ", "แ")
    return " ".join(text.split())


def _fold(text: str) -> str:
    """Matching form of a name: lower case, letters only (no spaces, dots, ฯ or digits)."""
    return _NOT_NAME.sub("", text.casefold())


def _phon(folded: str) -> str:
    """Sound-alike key of a folded name: 'พิศณุโลก' and 'พิษณุโลก' give the same key."""
    key = folded.translate(_TH_PHONETIC)
    if key.isascii():
        for pattern, repl in _EN_PHONETIC:
            key = pattern.sub(repl, key)
    return key


def _is_thai(key: str) -> bool:
    """True if the key starts with a Thai character."""
    return bool(key) and key[0] >= "\u0e00"


def _max_edits(key: str) -> int:
    """Edits tolerated by fuzzy matching a phonetic key (Thai spells a name in fewer letters)."""
    one, two = (4, 8) if _is_thai(key) else (6, 10)
    n = len(key)
    return 0 if n < one else 1 if n < two else 2


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment edit distance, or limit + 1 once it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, prev2[j - 2] + 1)
            cur[j] = best
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


# --------------------------------------------------------------------------- name index

_FUZZY_QUALITY = {1: 0.8, 2: 0.65}
_PHONETIC_QUALITY = 0.92
# Common short forms of province names (folded Thai or English) -> province code.
_PROVINCE_ALIASES = {
    "กรุงเทพ": "10",
    "กทม": "10",
    "bangkok": "10",
    "bkk": "10",
    "krungthep": "10",
    "krungthepmahanakhon": "10",
    "อยุธยา": "14",
    "กรุงเก่า": "14",
    "ayutthaya": "14",
    "ayudhya": "14",
    "โคราช": "30",
    "korat": "30",
    "khorat": "30",
    "อุบล": "34",
    "ubon": "34",
    "สุพรรณ": "72",
    "ประจวบ": "77",
    "นครศรี": "80",
    "สุราษฎร์": "84",
    "สุราษ": "84",
    "surat": "84",
}
_MUEANG_KEYS = ("เมือง", "mueang", "muang")


@dataclass(frozen=True, slots=True)
class _Entry:
    """A name (official or alias) under which a place can be found."""

    place: Place
    fold: str
    quality: float


class _Names:
    """Lookup structures over every place name, built once."""

    def __init__(self) -> None:
        """Index Thai and English names, aliases and postal codes of the gazetteer."""
        by_key: dict[str, list[_Entry]] = {}
        self.postal: dict[str, list[Place]] = {}
        self.scoped: dict[str, list[tuple[str, _Entry]]] = {}  # province -> (key, entry)
        marker_names: set[str] = set()

        def add(place: Place, name: str, quality: float) -> None:
            folded = _fold(name)
            if folded:
                entry = _Entry(place, folded, quality)
                key = _phon(folded)
                by_key.setdefault(key, []).append(entry)
                self.scoped.setdefault(place.code[:2], []).append((key, entry))

        for province in gazetteer.provinces():
            add(province, province.name_th, 1.0)
            add(province, province.name_en, 1.0)
            for district in gazetteer.districts(province.code):
                for place in (district, *gazetteer.subdistricts(district.code)):
                    add(place, place.name_th, 1.0)
                    add(place, place.name_en, 1.0)
                    for variant in re.findall(r"[^()]+", place.name_th):
                        if variant.strip() and variant.strip() != place.name_th:
                            add(place, variant, 0.95)
                    if _MARKER_WORDS.search(place.name_th):
                        marker_names.add(place.name_th)
                    if place.level == "district":
                        for postal in place.postal_codes:
                            self.postal.setdefault(postal, []).append(place)
        for alias, code in _PROVINCE_ALIASES.items():
            add(gazetteer.get(code), alias, 0.95)  # type: ignore[arg-type]
        for province in gazetteer.provinces():
            capital = _capital_district(province)
            if capital is not None:
                for key in _MUEANG_KEYS:
                    add(capital, key, 1.0)
                for alias, code in _PROVINCE_ALIASES.items():
                    if code == province.code and _is_thai(alias):
                        add(capital, "เมือง" + alias, 0.95)
        self.by_key = {k: tuple(v) for k, v in by_key.items()}
        # Substring scan (addresses typed without spaces): keys of 4+ letters by first two.
        starts: dict[str, list[str]] = {}
        for key in self.by_key:
            if len(key) >= 4:
                starts.setdefault(key[:2], []).append(key)
        self.starts = {k: sorted(v, key=len, reverse=True) for k, v in starts.items()}
        grams: dict[tuple[str, int], list[str]] = {}  # (bigram, key length) -> keys
        for key in self.by_key:
            for gram in {key[i : i + 2] for i in range(len(key) - 1)}:
                grams.setdefault((gram, len(key)), []).append(key)
        self.grams = grams
        names = sorted(marker_names, key=len, reverse=True)
        self.protected = re.compile("|".join(map(re.escape, names))) if names else None

    def lookup(self, folded: str, level: str | None = None) -> dict[str, float]:
        """Places named exactly (1.0) or sound-alike (0.92) as a folded text: code -> quality."""
        found: dict[str, float] = {}
        for entry in self.by_key.get(_phon(folded), ()):
            if level is None or entry.place.level == level:
                quality = entry.quality * (1.0 if entry.fold == folded else _PHONETIC_QUALITY)
                if quality > found.get(entry.place.code, 0.0):
                    found[entry.place.code] = quality
        return found

    def fuzzy(
        self, folded: str, level: str | None, provinces: set[str], prefix: bool
    ) -> dict[str, float]:
        """Places within a few edits of a folded text, searched in `provinces` or everywhere."""
        key = _phon(folded)
        limit = _max_edits(key)
        if limit == 0:
            return {}
        thai = _is_thai(key)
        if provinces:
            pairs: Iterable[tuple[str, _Entry]] = (
                pair for code in sorted(provinces) for pair in self.scoped.get(code, ())
            )
        else:
            pairs = (
                (other, entry) for other in self._similar_keys(key) for entry in self.by_key[other]
            )
            prefix = False
        found: dict[str, float] = {}
        for other, entry in pairs:
            if _is_thai(other) != thai or (level is not None and entry.place.level != level):
                continue
            if prefix and len(key) > len(other) + 1:
                edits = min(
                    _distance(key[: len(other) + d], other, limit) for d in (-1, 0, 1)
                )
            else:
                edits = _distance(key, other, limit)
            if edits < limit:  # only the closest names count: 1 edit hides those 2 away
                found, limit = {}, edits
            if edits == limit:
                quality = entry.quality * _FUZZY_QUALITY.get(edits, 1.0)
                if quality > found.get(entry.place.code, 0.0):
                    found[entry.place.code] = quality
        return found

    def _similar_keys(self, key: str, keep: int = 80) -> list[str]:
        """Keys sharing the most bigrams with a key and of a close length (for fuzzy search)."""
        limit = _max_edits(key)
        counts: dict[str, int] = {}
        for gram in {key[i : i + 2] for i in range(len(key) - 1)}:
            for length in range(len(key) - limit, len(key) + limit + 1):
                for other in self.grams.get((gram, length), ()):
                    counts[other] = counts.get(other, 0) + 1
        need = max(1, len(key) - 1 - 3 * limit)  # a transposition breaks three bigrams
        close = [(n, k) for k, n in counts.items() if n >= need]
        close.sort(key=lambda nk: (-nk[0], nk[1]))
        return [k for _, k in close[:keep]]

    def scan(self, folded: str) -> list[dict[str, float]]:
        """Names found inside a token typed without spaces (code -> quality for each)."""
        key = _phon(folded)
        spans = []
        for i in range(len(key) - 3):
            for other in self.starts.get(key[i : i + 2], ()):
                if key.startswith(other, i):
                    spans.append((i, i + len(other), other))
        spans.sort(key=lambda s: (s[0] - s[1], s[0]))
        taken: list[tuple[int, int, str]] = []
        for span in spans:
            if all(span[1] <= t[0] or span[0] >= t[1] for t in taken):
                taken.append(span)
        covered = sum(end - start for start, end, _ in taken)
        if not taken or covered < 0.6 * len(key):
            return []
        found = []
        for _start, _end, other in sorted(taken):
            alts: dict[str, float] = {}
            for entry in self.by_key[other]:
                quality = entry.quality * (1.0 if entry.fold in folded else _PHONETIC_QUALITY)
                alts[entry.place.code] = max(alts.get(entry.place.code, 0.0), quality)
            found.append(alts)
        return found


def _capital_district(province: Place) -> Place | None:
    """The province's เมือง district (Phra Nakhon Si Ayutthaya's is 1401); None for Bangkok."""
    if province.code == "10":
        return None
    for district in gazetteer.districts(province.code):
        if district.name_th == "เมือง" + province.name_th:
            return district
    return gazetteer.get(province.code + "01")


_names_lock = threading.Lock()
_names: _Names | None = None


def warm_up() -> None:
    """Load the gazetteer and build the name index now (~0.3 s) rather than on first use."""
    _index()
    gazetteer.nearest_subdistrict(16.8, 100.26)


def _index() -> _Names:
    """The name index, built on first use (thread-safe)."""
    global _names
    names = _names
    if names is None:
        with _names_lock:
            if _names is None:
                _names = _Names()
            names = _names
    return names


# --------------------------------------------------------------------------- address parsing

_T = "\u0e01-\u0e2e\u0e40-\u0e44a-z"  # a letter that can start a name
_MARKERS = re.compile(
    rf"(?P<street>หมู่บ้าน|มบ\.|ถนน|ถ\.(?=\s*[{_T}])|ซอย|ซ\.(?=\s*[{_T}0-9])|ตรอก|ชุมชน|อาคาร"
    rf"|คอนโด|โครงการ)"
    rf"|(?P<number>บ้านเลขที่|เลขที่|หมู่(?:ที่)?(?=\s*\d)|(?:(?<=\s)|^)ม\.|ม\.(?=\s*\d))"
    rf"|(?P<subdistrict>ตำบล|แขวง|ต\.(?=\s*[{_T}]))"
    rf"|(?P<district>กิ่ง\s*อำเภอ|กิ่ง\s*อ\.|อำเภอ|เขต(?=\s*[{_T}])|อ\.(?=\s*[{_T}]))"
    rf"|(?P<province>จังหวัด|จ\.(?=\s*[{_T}]))"
)
_MARKER_WORDS = re.compile(
    r"ตำบล|แขวง|อำเภอ|เขต|จังหวัด|หมู่|ถนน|ซอย|ตรอก|ชุมชน|อาคาร|คอนโด|โครงการ|เลขที่|มบ\.|[ตอจมถซ]\."
)
_PLACE_KINDS = ("subdistrict", "district", "province")
# A bare name more likely means the province than a namesake district or subdistrict.
_LEVEL_PRIOR = {"province": 1.0, "district": 0.95, "subdistrict": 0.9}
_BKK_ABBREVIATION = re.compile(r"ก\.?\s?ท\.?\s?ม\.?")
_POSTAL = re.compile(r"(?<![\d./-])\d{5}(?![\d./-])")
_SEPARATORS = re.compile(r"[,;:|/\\()\[\]{}\"“”]+")
_EN_HINT_BEFORE = {
    "tambon": "subdistrict",
    "khwaeng": "subdistrict",
    "kwaeng": "subdistrict",
    "amphoe": "district",
    "amphur": "district",
    "amphor": "district",
    "khet": "district",
    "changwat": "province",
}
_EN_HINT_AFTER = {
    "subdistrict": "subdistrict",
    "district": "district",
    "province": "province",
}
_EN_SKIP_NEXT = {"moo", "soi", "no"}
_EN_SKIP_PREVIOUS = {"road", "rd", "street", "st", "alley"}
_IGNORED = {
    *("sub", "thailand", "th", "city", "the", "of", "a", "an", "and", "at", "in", "on", "to"),
    *("near", "opposite", "behind", "next", "front", "house", "home", "address", "market"),
    *("village", "building", "hospital", "school", "temple"),
    *("ประเทศไทย", "ไทย", "ที่อยู่", "ใกล้", "ตรงข้าม", "หน้า", "ข้าง", "แถว"),
}
_LEADING_NUMBER = re.compile(r"^\s*[\d/\-]+")


@dataclass(slots=True)
class _Mention:
    """One piece of the text and the places it may name: code -> quality."""

    alts: dict[str, float]
    weight: float
    postal: str | None = None


@dataclass(slots=True)
class _Parse:
    """What the parser found: mentions, and pieces left for fuzzy matching."""

    mentions: list[_Mention] = field(default_factory=list)
    # (folded text, level hint, weight, prefix match allowed)
    pending: list[tuple[str, str | None, float, bool]] = field(default_factory=list)


def _restrict(alts: dict[str, float], level: str | None) -> dict[str, float]:
    """Alternatives at the hinted level; else coarse first ('Chiang Mai' is the province)."""
    if level is not None:
        kept = {code: q for code, q in alts.items() if _level_of(code) == level}
        if kept:
            return kept
        alts = {code: q * 0.8 for code, q in alts.items()}
    # 'หาดใหญ่' names both a district and its central subdistrict: read it as the district.
    return {
        code: q * _LEVEL_PRIOR[_level_of(code)]
        for code, q in alts.items()
        if not any(code[:n] in alts for n in (2, 4) if n < len(code))
    }


def _level_of(code: str) -> str:
    """Level of a DOPA code by its length."""
    return {2: "province", 4: "district"}.get(len(code), "subdistrict")


def _marked(names: _Names, level: str, content: str, out: _Parse) -> None:
    """Match the text after ต./อ./จ. (and their long forms) at that level; rest is unmarked."""
    words = content.split()
    folded = [_fold(w) for w in words]
    if not words or not folded[0]:
        _unmarked(names, content, out)
        return
    for span in range(min(4, len(words)), 0, -1):
        alts = names.lookup("".join(folded[:span]), level)
        if alts:
            out.mentions.append(_Mention(alts, 1.0))
            _unmarked(names, " ".join(words[span:]), out)
            return
    first = folded[0]
    for end in range(len(first) - 1, 1, -1):  # the name runs into the next word (no space)
        alts = names.lookup(first[:end], level)
        if alts:
            out.mentions.append(_Mention(alts, 1.0))
            _unmarked(names, " ".join([first[end:], *words[1:]]), out)
            return
    for span in range(min(4, len(words)), 0, -1):  # e.g. 'จ.หาดใหญ่' names a district
        alts = names.lookup("".join(folded[:span]))
        if alts:
            out.mentions.append(_Mention(_restrict(alts, level), 1.0))
            _unmarked(names, " ".join(words[span:]), out)
            return
    out.pending.append((first, level, 1.0, True))
    _unmarked(names, " ".join(words[1:]), out)


def _unmarked(names: _Names, text: str, out: _Parse) -> None:
    """Find names in text without markers, part by part (commas and the like separate parts)."""
    for part in _SEPARATORS.split(text):
        tokens: list[str] = []
        hints: dict[int, str] = {}
        skip = False
        for word in (_fold(w) for w in part.split()):
            if skip or not word:
                skip = False
                continue
            if word in _EN_SKIP_NEXT:  # 'Moo 4', 'Soi Ari'
                skip = True
            elif word in _EN_SKIP_PREVIOUS:  # 'Phitsanulok Road'
                if tokens:
                    tokens.pop()
                    hints.pop(len(tokens), None)
            elif word in _EN_HINT_BEFORE:  # 'Tambon Tha Thong'
                hints[len(tokens)] = _EN_HINT_BEFORE[word]
            elif word in _EN_HINT_AFTER and tokens:  # 'Mueang District'
                hints.setdefault(len(tokens) - 1, _EN_HINT_AFTER[word])
            elif word not in _IGNORED:
                tokens.append(word)
        _match_tokens(names, tokens, hints, out)


def _match_tokens(names: _Names, tokens: list[str], hints: dict[int, str], out: _Parse) -> None:
    """Greedy longest match of word runs against the names; leftovers go to the scan/fuzzy."""
    i = 0
    while i < len(tokens):
        span, alts = _longest_run(names, tokens, i)
        token = tokens[i]
        if span <= 1 and token.isascii() and (not alts or len(token) <= 3):
            # 'Chaing Mai': a misspelt two-word English name beats the short word 'Mai'.
            for fuzzy_span in range(min(3, len(tokens) - i), 1, -1):
                key = "".join(tokens[i : i + fuzzy_span])
                fuzzy = names.fuzzy(key, None, set(), False) if len(key) >= 6 else {}
                if fuzzy:
                    span, alts = fuzzy_span, fuzzy
                    break
        level = next((hints[j] for j in range(i, i + span) if j in hints), None)
        if alts:
            # Village names ('บ้านหนองบัว หมู่ 4') often coincide with subdistricts elsewhere.
            weight = 0.5 if len(token) <= 2 or token.startswith("บ้าน") else 1.0
            out.mentions.append(_Mention(_restrict(alts, level), weight))
            i += span
            continue
        if not token.startswith("บ้าน"):
            found = names.scan(token) if len(token) >= 6 else []
            for scanned in found:
                out.mentions.append(_Mention(_restrict(scanned, None), 0.6))
            if not found and len(token) >= 4:
                out.pending.append((token, level, 0.8, False))
        i += 1


def _longest_run(names: _Names, tokens: list[str], i: int) -> tuple[int, dict[str, float]]:
    """The longest run of up to four words from i that is a name, and its places."""
    for span in range(min(4, len(tokens) - i), 0, -1):
        alts = names.lookup("".join(tokens[i : i + span]))
        if alts:
            return span, alts
    return 1, {}


def _segments(text: str, names: _Names) -> list[tuple[str | None, str]]:
    """Split cleaned, lower-cased text at the markers: (kind or None, following text)."""
    protected = [m.span() for m in names.protected.finditer(text)] if names.protected else []
    pieces: list[tuple[str | None, str]] = []
    last_kind: str | None = None
    last_end = 0
    pos = 0
    for match in _MARKERS.finditer(text):
        start = match.start()
        kind = match.lastgroup
        inside = any(a < start < b for a, b in protected)
        at_name = any(a == start for a, b in protected)
        # 'สามตำบล' and 'จ.ป.ร.' are names; 'แขวงถนนพญาไท' is a place, not a road named พญาไท.
        after_marker = last_kind in _PLACE_KINDS and not text[last_end:start].strip()
        if inside or (at_name and (kind != "street" or after_marker)):
            continue
        pieces.append((last_kind, text[pos:start]))
        last_kind, last_end, pos = kind, match.end(), match.end()
    pieces.append((last_kind, text[pos:]))
    return pieces


def _drop_word(text: str) -> str:
    """Text without its first word."""
    return " ".join(text.split()[1:])


def _parse(text: str, names: _Names) -> _Parse:
    """Mentions of places in a cleaned text."""
    out = _Parse()
    text = _clean(text[:MAX_INPUT_CHARS]).casefold()
    for postal in _POSTAL.findall(text):
        if postal in names.postal:
            codes = {d.code: 1.0 for d in names.postal[postal]}
            out.mentions.append(_Mention(codes, 1.0, postal))
    text = _POSTAL.sub(" ", text)
    text = _BKK_ABBREVIATION.sub(" กรุงเทพมหานคร ", text)
    for kind, content in _segments(text, names):
        if kind in _PLACE_KINDS:
            _marked(names, kind, content, out)  # type: ignore[arg-type]
        elif kind == "number":  # 'หมู่ 4', 'เลขที่ 99/1', 'ม.นเรศวร': drop the number or word
            rest = _LEADING_NUMBER.sub("", content, count=1)
            _unmarked(names, rest if rest != content else _drop_word(content), out)
        elif kind == "street":  # 'ถ.มิตรภาพ', 'ซอย 5', 'หมู่บ้านสวนหลวง': drop the street name
            _unmarked(names, _drop_word(content), out)
        else:
            _unmarked(names, content, out)
    return out


def _fuzzy_pass(names: _Names, parsed: _Parse) -> None:
    """Match the leftovers approximately, within the provinces the exact mentions point to."""
    provinces: set[str] = set()
    for mention in parsed.mentions:
        seen = {code[:2] for code in mention.alts}
        if len(seen) <= 3:
            provinces |= seen
    for folded, level, weight, prefix in parsed.pending:
        alts = names.fuzzy(folded, level, provinces, prefix)
        if alts:
            parsed.mentions.append(_Mention(_restrict(alts, level), weight))


def _explains(mention: _Mention, place: Place) -> float:
    """How well a place accounts for a mention: the quality of its own or an ancestor's name."""
    if mention.postal is not None:
        return 1.0 if mention.postal in place.postal_codes else 0.0
    code = place.code
    return max(mention.alts.get(code[:n], 0.0) for n in (2, 4, 6) if n <= len(code))


def _rank(mentions: list[_Mention], limit: int) -> list[tuple[float, Place]]:
    """Places consistent with most mentions, best first, scores lowered when ambiguous."""
    total = sum(m.weight for m in mentions)
    places = {code: gazetteer.get(code) for m in mentions for code in m.alts}
    base = {
        code: sum(m.weight * _explains(m, place) for m in mentions) / total
        for code, place in places.items()
        if place is not None
    }
    if not base:
        return []
    best = max(base.values())
    kept = {c: s for c, s in base.items() if s >= max(0.2, 0.7 * best)}
    # An ancestor of an equally good place adds nothing: 'จ.พิษณุโลก' under 'ต.ท่าทอง ...'.
    kept = {
        c: s
        for c, s in kept.items()
        if not any(o != c and o.startswith(c) and so >= s - 1e-9 for o, so in kept.items())
    }
    ranked = []
    for code, score in kept.items():
        rivals = sum(1 for other in kept.values() if other >= score - 0.05)
        ranked.append((score / math.sqrt(rivals), code))
    ranked.sort(key=lambda sc: (-sc[0], -len(sc[1]), sc[1]))
    return [(score, places[code]) for score, code in ranked[:limit]]  # type: ignore[misc]


# --------------------------------------------------------------------------- coordinates

_NUM = r"[-+]?\d{1,3}(?:\.\d+)?"
_DECIMAL_PAIR = re.compile(
    rf"^(?:lat(?:itude)?\s*[:=]?\s*)?({_NUM})\s*°?\s*([ns])?\s*[,;/\s]\s*"
    rf"(?:lo?ng?(?:itude)?\s*[:=]?\s*)?({_NUM})\s*°?\s*([ew])?$"
)
_URL_PAIR = re.compile(
    r"(?:@|[?&](?:q|ll|query|center|destination)=)([-+]?\d+\.\d+),\s*([-+]?\d+\.\d+)"
)
_EMBEDDED_PAIR = re.compile(r"(?<![\d.])(\d{1,2}\.\d{3,})\s*,\s*(\d{2,3}\.\d{3,})(?![\d.])")
_DMS = re.compile(
    r"(\d{1,3})\s*°\s*(\d{1,2})\s*['′’]\s*(?:(\d{1,2}(?:\.\d+)?)\s*(?:\"|″|''|′′|”)?)?\s*([nsew])"
)


def parse_coordinates(text: str) -> tuple[float, float, bool] | None:
    """(lat, lon, swapped) from '16.79, 100.26', '16.79 100.26', DMS or a map URL; else None."""
    if not isinstance(text, str):
        return None
    cleaned = _clean(text[:MAX_INPUT_CHARS]).casefold()
    pair: tuple[float, float] | None = None
    match = _DECIMAL_PAIR.match(cleaned)
    if match and "." in match.group(1) and "." in match.group(3):
        lat, lon = float(match.group(1)), float(match.group(3))
        pair = (-lat if match.group(2) == "s" else lat, -lon if match.group(4) == "w" else lon)
    elif match := _URL_PAIR.search(cleaned):
        pair = (float(match.group(1)), float(match.group(2)))
    else:
        parts = _DMS.findall(cleaned)
        if len(parts) == 2:
            values = {}
            for deg, minutes, seconds, hemisphere in parts:
                value = int(deg) + int(minutes) / 60 + float(seconds or 0) / 3600
                axis = "lat" if hemisphere in "ns" else "lon"
                values[axis] = -value if hemisphere in "sw" else value
            if len(values) == 2:
                pair = (values["lat"], values["lon"])
    if pair is None or not all(math.isfinite(v) for v in pair):
        return None
    lat, lon = pair
    if not gazetteer.in_thailand(lat, lon) and gazetteer.in_thailand(lon, lat):
        return (lon, lat, True)
    return (lat, lon, False)


def _checked_point(lat: object, lon: object) -> tuple[float, float]:
    """Finite latitude/longitude numbers in range, else GeocodeError('bad_coordinates')."""
    values = []
    for value in (lat, lon):
        if isinstance(value, (bool, str, bytes)) or value is None:
            raise GeocodeError("bad_coordinates")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError) as exc:
            raise GeocodeError("bad_coordinates") from exc
        if not math.isfinite(number):
            raise GeocodeError("bad_coordinates")
        values.append(number)
    if abs(values[0]) > 90 or abs(values[1]) > 180:
        raise GeocodeError("bad_coordinates")
    return values[0], values[1]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _place_at(lat: float, lon: float) -> tuple[Place, float]:
    """Nearest subdistrict and its distance; GeocodeError('outside_thailand') if none near."""
    place = gazetteer.nearest_subdistrict(lat, lon)
    if place is None:
        raise GeocodeError("outside_thailand")
    km = _km(lat, lon, place.lat, place.lon)  # type: ignore[arg-type]
    if km > OUTSIDE_KM:
        raise GeocodeError("outside_thailand")
    return place, km


def reverse_point(lat: float, lon: float, *, source: str = "gazetteer") -> Candidate:
    """The subdistrict at a point (nearest centre); score falls with the distance to it."""
    la, lo = _checked_point(lat, lon)
    place, km = _place_at(la, lo)
    province, district, _ = gazetteer.lineage(place.code)
    return Candidate(
        lat=la,
        lon=lo,
        precision="point",
        province_code=province.code if province else None,
        district_code=district.code if district else None,
        subdistrict_code=place.code,
        label=f"{_label(place)} ({la:.5f}, {lo:.5f})",
        score=round(max(0.2, 0.95 - km / 50.0), 3),
        source=source,
    )


# --------------------------------------------------------------------------- candidates


def _label(place: Place) -> str:
    """Thai label 'ต.… อ.… จ.…' (Bangkok: 'แขวง… เขต… กรุงเทพมหานคร')."""
    province, district, sub = gazetteer.lineage(place.code)
    bangkok = place.code.startswith("10")
    parts = []
    if sub is not None:
        parts.append(("แขวง" if bangkok else "ต.") + sub.name_th)
    if district is not None:
        parts.append(("เขต" if bangkok else "อ.") + district.name_th)
    if province is not None:
        parts.append(province.name_th if bangkok else "จ." + province.name_th)
    return " ".join(parts)


def _candidate(place: Place, score: float, source: str = "gazetteer") -> Candidate:
    """Candidate for a gazetteer place; a subdistrict without coordinates takes its district's."""
    province, district, sub = gazetteer.lineage(place.code)
    located = next(p for p in (sub, district, province) if p is not None and p.lat is not None)
    return Candidate(
        lat=located.lat,
        lon=located.lon,
        precision=located.level,
        province_code=province.code if province else None,
        district_code=district.code if district else None,
        subdistrict_code=sub.code if sub else None,
        label=_label(place),
        score=round(min(1.0, max(0.0, score)), 3),
        source=source,
    )


def _limit(limit: object) -> int:
    """A usable result count: ints are clamped to 0..MAX_LIMIT, anything else means 5."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        return 5
    return max(0, min(MAX_LIMIT, limit))


def geocode_text(text: str, *, limit: int = 5) -> list[Candidate]:
    """Offline geocoding of an address, a place name or typed coordinates; best first."""
    if not isinstance(text, str):
        return []
    limit = _limit(limit)
    if limit == 0 or not text.strip():
        return []
    coordinates = parse_coordinates(text)
    if coordinates is not None:
        lat, lon, swapped = coordinates
        try:
            typed = reverse_point(lat, lon)
        except GeocodeError:
            return []
        return [replace(typed, score=round(typed.score * 0.8, 3)) if swapped else typed]
    point: Candidate | None = None
    text = _clean(text[:MAX_INPUT_CHARS])
    match = _EMBEDDED_PAIR.search(text)
    if match:  # an address with the caller's shared location ('… 16.7959, 100.2637')
        try:
            point = reverse_point(float(match.group(1)), float(match.group(2)))
        except GeocodeError:
            point = None
        text = text[: match.start()] + " " + text[match.end() :]
    names = _index()
    parsed = _parse(text, names)
    if parsed.pending:
        _fuzzy_pass(names, parsed)
    ranked = _rank(parsed.mentions, limit) if parsed.mentions else []
    found = [_candidate(place, score) for score, place in ranked]
    if point is None:
        return found
    if not found or found[0].province_code == point.province_code:
        # The point agrees with the address: it is the most precise answer.
        best = max([point.score] + [c.score for c in found[:1]])
        return [replace(point, score=best), *found][:limit]
    point = replace(point, score=round(point.score * 0.7, 3))
    return sorted([point, *found], key=lambda c: -c.score)[:limit]


class GazetteerGeocoder:
    """Offline geocoder over the bundled gazetteer (the default)."""

    def geocode(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Candidates best first; [] for unknown places, garbage or empty text; never raises."""
        try:
            return geocode_text(text, limit=limit)
        except Exception:  # a failed guess must not break the dispatch form
            log.exception("offline geocoder failed on %r", str(text)[:100])
            return []

    def reverse(self, lat: float, lon: float) -> Candidate:
        """The subdistrict at a point; GeocodeError('outside_thailand' / 'bad_coordinates')."""
        return reverse_point(lat, lon)


# --------------------------------------------------------------------------- Nominatim


class _TTLCache:
    """A small thread-safe LRU cache whose entries expire after ttl seconds."""

    def __init__(self, size: int, ttl: float, clock: Callable[[], float]) -> None:
        """Empty cache of at most `size` entries."""
        self.size, self.ttl, self.clock = size, ttl, clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        """The live value for key, or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if item[0] <= self.clock():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return item[1]

    def put(self, key: Any, value: Any) -> None:
        """Store a value, evicting the least recently used entries beyond the size."""
        if self.size <= 0 or self.ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self.clock() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        """Number of stored (possibly expired) entries."""
        return len(self._data)


_POINT_CLASSES = frozenset(
    {
        "amenity",
        "building",
        "craft",
        "emergency",
        "healthcare",
        "historic",
        "leisure",
        "man_made",
        "office",
        "shop",
        "tourism",
    }
)
_ADDRESSTYPE_PRECISION = {
    **dict.fromkeys(
        ("house", "building", "amenity", "shop", "office", "tourism", "healthcare",
         "emergency", "leisure", "craft", "man_made", "historic", "isolated_dwelling"),
        "point",
    ),
    **dict.fromkeys(
        ("road", "subdistrict", "suburb", "quarter", "neighbourhood", "village", "hamlet",
         "town", "allotments", "farm", "square", "croft"),
        "subdistrict",
    ),
    **dict.fromkeys(("district", "city_district", "county", "municipality"), "district"),
    **dict.fromkeys(("province", "state", "region", "state_district", "country"), "province"),
}


def nominatim_precision(raw: Mapping[str, Any]) -> str:
    """Precision of a Nominatim result: 'point' for houses, buildings, amenities; else by type."""
    kind = raw.get("class", raw.get("category"))  # format=json / jsonv2
    if kind in _POINT_CLASSES or raw.get("type") in ("house", "building"):
        return "point"
    precision = _ADDRESSTYPE_PRECISION.get(str(raw.get("addresstype", "")))
    if precision is not None:
        return precision
    try:
        rank = int(raw.get("place_rank", 0))
    except (TypeError, ValueError):
        rank = 0
    if rank >= 28:
        return "point"
    if rank >= 17:
        return "subdistrict"
    if rank >= 10:
        return "district"
    return "province" if rank else "subdistrict"


def nominatim_candidate(raw: Mapping[str, Any], rank: int) -> Candidate | None:
    """Candidate for one Nominatim JSON result (codes from the gazetteer); None if unusable.

    Codes come from the subdistrict nearest the returned point, kept only as fine as the
    result (a province boundary gets no district). The score mixes Nominatim's importance
    with the result's rank (0.9 per place down the list).
    """
    try:
        lat, lon = float(raw["lat"]), float(raw["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    address = raw.get("address")
    if isinstance(address, Mapping) and address.get("country_code", "th") != "th":
        return None
    try:
        lat, lon = _checked_point(lat, lon)
        place, _ = _place_at(lat, lon)
    except GeocodeError:
        return None
    precision = nominatim_precision(raw)
    province, district, sub = gazetteer.lineage(place.code)
    keep = PRECISIONS.index(precision)  # codes only as fine as the result itself
    admin = sub if keep <= 1 else district if keep == 2 else province
    label = _label(admin) if admin is not None else ""
    name = str(raw.get("name") or str(raw.get("display_name") or "").split(",")[0]).strip()
    if name and raw.get("class", raw.get("category")) != "boundary":  # a hospital, a road
        label = f"{name} · {label}"
    try:
        importance = float(raw.get("importance") or 0.0)
    except (TypeError, ValueError):
        importance = 0.0
    score = (0.6 + 0.4 * min(1.0, max(0.0, importance))) * 0.9**rank
    return Candidate(
        lat=lat,
        lon=lon,
        precision=precision,
        province_code=province.code if province else None,
        district_code=district.code if district and keep <= 2 else None,
        subdistrict_code=sub.code if sub and keep <= 1 else None,
        label=label,
        score=round(score, 3),
        source="nominatim",
    )


class NominatimGeocoder:
    """A (self-hosted) Nominatim server through geopy, rate-limited and cached; Thailand only."""

    def __init__(
        self,
        url: str,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        min_delay_seconds: float = 1.0,
        timeout: float = 5.0,
        cache_size: int = 1024,
        cache_ttl: float = 24 * 3600.0,
        fallback: Geocoder | None = None,
        proxies: Mapping[str, str] | None = None,
        adapter_factory: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Point at a server like 'http://127.0.0.1:8080'; ValueError for a malformed URL."""
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import Nominatim

        parts = urlsplit(url.strip() if isinstance(url, str) else "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"NOMINATIM_URL must be http(s)://host[:port][/path], not {url!r}")
        self.url = url
        self.nominatim = Nominatim(
            domain=parts.netloc + parts.path.rstrip("/"),
            scheme=parts.scheme,
            user_agent=user_agent,
            timeout=timeout,
            proxies=dict(proxies) if proxies is not None else None,
            adapter_factory=adapter_factory,
        )
        delay = max(0.0, float(min_delay_seconds))
        # No retries: a dispatcher waiting on the phone is better served by the offline lists.
        self.rate_limiter = RateLimiter(
            self.nominatim.geocode,
            min_delay_seconds=delay,
            max_retries=0,
            error_wait_seconds=delay,
            swallow_exceptions=False,
        )
        self.cache = _TTLCache(cache_size, cache_ttl, clock)
        self.fallback = fallback

    def geocode(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Candidates from Nominatim; GeocodeError('unavailable') on network or server errors.

        With a fallback geocoder, its answer is returned instead of raising. Coordinates typed
        as text are answered offline without a request; empty text gives [].
        """
        from geopy.exc import GeopyError

        if not isinstance(text, str):
            return []
        limit = _limit(limit)
        query = _clean(text[:MAX_INPUT_CHARS])
        if parse_coordinates(query) is not None:
            return geocode_text(query, limit=limit)
        if limit == 0 or not any(ch.isalnum() for ch in query):
            return []
        key = (query.casefold(), limit)
        cached = self.cache.get(key)
        if cached is not None:
            return list(cached)
        try:
            locations = self.rate_limiter(
                query,
                exactly_one=False,
                limit=limit,
                addressdetails=True,
                language="th",
                country_codes="th",
            )
        except (GeopyError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("Nominatim at %s failed: %s", self.url, exc)
            if self.fallback is not None:
                return self.fallback.geocode(text, limit=limit)
            raise GeocodeError("unavailable") from exc
        candidates: list[Candidate] = []
        for location in locations or []:
            candidate = nominatim_candidate(location.raw, len(candidates))
            if candidate is not None:
                if candidates and candidate.score > candidates[-1].score:  # keep its order
                    candidate = replace(candidate, score=candidates[-1].score)
                candidates.append(candidate)
        self.cache.put(key, tuple(candidates))
        return candidates

    def reverse(self, lat: float, lon: float) -> Candidate:
        """The subdistrict at a point, from the offline gazetteer (no request)."""
        return reverse_point(lat, lon)


def make_geocoder(config: Mapping[str, Any]) -> Geocoder:
    """NominatimGeocoder when config has NOMINATIM_URL, else the offline GazetteerGeocoder.

    Optional keys: NOMINATIM_MIN_DELAY (1.0 s), NOMINATIM_TIMEOUT (5 s), NOMINATIM_USER_AGENT,
    NOMINATIM_CACHE_SIZE (1024), NOMINATIM_CACHE_TTL (86400 s), NOMINATIM_FALLBACK (True:
    answer from the gazetteer when Nominatim is down instead of raising 'unavailable').
    """
    url = config.get("NOMINATIM_URL")
    if not url:
        return GazetteerGeocoder()
    fallback = config.get("NOMINATIM_FALLBACK", True)
    if isinstance(fallback, str):
        fallback = fallback.strip().lower() not in ("", "0", "false", "no", "off")

    def number(key: str, default: float) -> float:
        """A numeric setting; missing or empty means the default."""
        value = config.get(key)
        return default if value is None or value == "" else float(value)

    return NominatimGeocoder(
        str(url),
        user_agent=str(config.get("NOMINATIM_USER_AGENT") or DEFAULT_USER_AGENT),
        min_delay_seconds=number("NOMINATIM_MIN_DELAY", 1.0),
        timeout=number("NOMINATIM_TIMEOUT", 5.0),
        cache_size=int(number("NOMINATIM_CACHE_SIZE", 1024)),
        cache_ttl=number("NOMINATIM_CACHE_TTL", 24 * 3600.0),
        fallback=GazetteerGeocoder() if fallback else None,
    )
