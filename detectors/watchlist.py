"""The OFAC SDN list in memory: parse the official CSV, normalise names, screen one in microseconds.

What is loaded
    The US Treasury OFAC Specially Designated Nationals list (public domain) in its official
    headerless CSV layout ``ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type,
    Tonnage, GRT, Vess_flag, Vess_owner, Remarks``; ``-0-`` is null; read as UTF-8 when it
    decodes, else latin-1 (OFAC's own files); the DOS end-of-file byte is ignored; an empty
    ``SDN_Type`` is an entity. Individuals are listed ``LAST, First Middle`` and indexed in both
    word orders; several programs come joined as ``SDGT] [IRGC``. The packaged copy is
    ``detectors/data/ofac_sdn_2024-05-03.csv`` (14,965 entries, public domain, unchanged);
    `Watchlist.from_csv` loads a newer download (``sdn.csv``). A malformed file raises
    ValueError naming the file and line.
Aliases
    ``a.k.a.``, ``f.k.a.`` and ``n.k.a.`` names in Remarks (``a.k.a. 'BNC'``). In the CSV
    distribution these are OFAC's *weak* aliases (OFAC FAQ 123: nicknames, noms de guerre,
    common acronyms; FAQ 122: OFAC does not expect them to be screened, they help confirm a
    hit), so they are marked weak and match only exactly (similarity 100 after normalisation);
    a weak alias that is a lone short token or only generic words is not indexed. OFAC cuts
    Remarks at a fixed length: an alias cut off there is ignored. The strong aliases are
    published separately in ``alt.csv`` (``ent_num, alt_num, alt_type, alt_name,
    alt_remarks``); pass it as ``alt_path`` to screen them like the primary names.
Countries (secondary identifiers; `SdnEntry.countries`, ISO 3166-1 alpha-2)
    Not used to screen: the detector compares them with the counterparty's country
    (`detectors.sanctions_screening`). From OFAC's address list ``add.csv`` (``ent_num,
    Add_num, Address, City/State/Province/Postal Code, Country, Add_remarks``, joined on
    ``ent_num``; pass it as ``add_path``; the packaged ``detectors/data/ofac_add_2023-01.csv``,
    public domain, unchanged, is *older* than the SDN file: entries designated since have no
    address there, and later addresses are missing) and from Remarks: ``nationality X``,
    ``citizen X``, ``Nationality of Registration X``, ``POB place, X`` and the country in
    parentheses after an identifier (``Passport 1084010 (Egypt)``, ``Tax ID No. ... (Russia)``);
    an item cut off by OFAC's length limit is not read. OFAC's spellings are mapped to codes
    (``Korea, North`` KP, ``Burma`` MM, ``Iran`` IR, ``Russia`` RU, ``Congo, Democratic Republic
    of the`` CD, ``Palestinian`` PS, ``Netherlands Antilles`` its successors), the others
    through pycountry's names; unknown ones (``undetermined``, ``Kosovo``, a city, a region
    spanning countries) are left out. When some are known, a program aimed at one country adds
    it (``CUBA``: CU; ``BANCO NACIONAL DE CUBA`` is listed with branches in Panama, Zurich,
    Madrid and Tokyo only); a program never makes an entry's countries known by itself. With the
    packaged files, 6,559 of 6,854 individuals and 6,680 of 6,884 entities have some.
Normalisation (query and list alike)
    In Arabic script, letters whose usual English romanisation differs from anyascii's are
    mapped first (the article ``ال`` dropped, ``ة`` -> a, ``ظ`` -> z, ``ع`` -> a ...); then
    anyascii (accents, Cyrillic, Greek, Arabic), casefold, apostrophes removed (``'ABD`` ->
    ``abd``, ``O'NEILL`` -> ``oneill``), dotted initials joined (``S.A.`` -> ``sa``), any other
    punctuation a space. Dropped: articles and connectors (``al``, ``el``, ``bin``, ``ibn``,
    ``ould``, ``de``, ``la``, ``van``, ``of``, ``and`` ...) and legal forms (``ltd``, ``llc``,
    ``co``, ``sa``, ``sarl``, ``company``, ``establishment``, ``ooo``, ``jsc``, ``gmbh``,
    ``joint stock`` ...) anywhere; honorifics (``mr``, ``dr``, ``sheikh``, ``haji``, ``hajji``,
    ``mullah`` ...) when they lead a name (``Hajji`` is also a surname). So ``AL-ZAWAHIRI, Dr.
    Ayman`` = ``Ayman El Zawahiri`` and ``CECOEX, S.A.`` = ``Cecoex SARL``. Spellings of a few
    very frequent name parts become one (``Mohamed``/``Mohammed``/``Muhammad`` -> muhammad,
    ``Abou`` -> abu, ``Abdel``/``Abdul`` -> abd, also fused: ``Abdelrahman`` -> abd rahman).
    Each token also has a *fold* (every vowel an ``a``, hard ``c``/``q`` a ``k``, doubled
    consonants single), which transliterations of one name mostly share (``Laden``/``Ladin``,
    ``Osama``/``Usama``, ``Kuba``/``Cuba``; ``Saad`` and ``Saeed`` stay apart).
Screening
    A query is compared with the listed names that share a *blocking key* with it: the fold of
    a token, or, for a word of five letters or more that the list does not hold (a misspelling,
    maybe), its first or last four letters (an inverted index: a screen compares tens of names,
    not 25,000). A key held by more than ``BLOCK_CAP`` names (``muhammad``, ``trading``) is
    used only when the query has no rarer one, and then as the intersection of the two
    smallest. Similarity (0..100) is the best of:

    full
        the same words in any order, or the same letters spaced differently (``Hizb Allah`` =
        ``HIZBALLAH``): 100. Otherwise the lower of rapidfuzz's ``ratio`` of the sorted tokens
        (``token_sort_ratio``: order free, a typo costs a little) and a token alignment: every
        token of either name scored against its best counterpart in the other (1 when equal,
        0.95 when the folds agree, else ``ratio``), averaged with rarity (IDF) weights, so that
        a long common given name cannot carry a different surname over the threshold
        (``Hassan Rami`` is not ``KARAMI, Hassan``);
    partial
        one name's tokens are a subset of the other's: ``Vladimir Putin`` for ``PUTIN,
        Vladimir Vladimirovich``, ``Rosneft`` for ``ROSNEFT TRADING S.A.``. A person's listed
        surname in full and at least one given name, two tokens at least; for an entity, only
        generic words left over. Tokens equal, except at most one that shares the fold (five
        letters or more: -3) or is one edit away (six letters or more: -8); at least one token
        distinctive (not generic, held by at most ``COMMON_DF`` entries, and for an entity not
        a person's name). When the smaller side is one word, it must be equal (no fold, no
        edit) and at least ``MIN_TOKEN_CHARS`` letters, and a one-word listed name never
        matches inside a longer query (``RIF`` is not ``Rif Services``, ``ARGON`` not ``Argan
        Industries``; ``Rosneft`` still finds ``ROSNEFT TRADING S.A.``). 100 minus 3 per token
        only one side has (1 for an initial). A listed name of two words or more inside a
        longer query is looked up by its set of folds, for queries of at most
        ``SUBSET_MAX_TOKENS`` distinct words leaving at most ``SUBSET_MAX_LEFT_OVER`` over;
    script (Arabic-script queries, which write no short vowels)
        the listed name has the same consonant skeleton (vowels, w, y and doubled letters
        removed; at least five letters, every word two or more) and as many words or one fewer:
        similarity 92, never exact (``حسن نصر الله`` is ``NASRALLAH, Hasan``, but ``أحمد حسن``
        would also be ``Hamid Hasan``).

    Each entry is reported once, by its best name (primary before alias on a tie); results
    are sorted by similarity, then primary before alias, then ``ent_num``.
Not screened (hard negatives)
    Names with no token left; a lone token shorter than four letters (``BNC``, ``Ali``); a lone
    token that more than ``COMMON_DF`` listed people bear (``Mohamed``, ``Vladimir``). Names of
    generic words only (``Trading Company``, ``Bank``) match only a listed name of exactly
    those words (``TOURISM BANK``). Vessels and aircraft match in full only.
Cost and memory
    Loading the packaged list and addresses takes one to two seconds and some tens of MB
    (25,000 names, 100,000 keys); `Watchlist.default()` loads it once per process. The first
    screen of a name costs tens of microseconds; results are memoised in a bounded LRU per
    normalised name (and one per raw string, which skips the normalisation), ``cache_size``
    each. `screen` does no I/O and its results depend only on the name and the threshold.
Limits
    `screen` compares names only: a common listed name matches everyone who bears it; the
    detector's country comparison (when both countries are known) or an analyst tells the
    namesakes apart, and dates of birth are not compared. A name reachable only through a
    common word plus a misspelt word that is itself a listed word is missed, as are typos in
    both the first and last four letters of every word. Fused articles (``Alzahrani``) are
    compared as written. The list is as of its date (``as_of``), its addresses as of theirs.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

import pycountry
from anyascii import anyascii
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

__all__ = [
    "DEFAULT_THRESHOLD",
    "GENERIC_WORDS",
    "LIST_NAME",
    "MIN_THRESHOLD",
    "SdnAlias",
    "SdnEntry",
    "Watchlist",
    "WatchlistMatch",
    "country_codes",
    "name_key",
    "normalise_name",
]

#: What the findings call the list.
LIST_NAME = "OFAC SDN"
#: Default similarity a name must reach to match (0..100).
DEFAULT_THRESHOLD = 90.0
#: Lowest threshold `screen` accepts: weaker similarities are never computed or cached.
MIN_THRESHOLD = 80.0
#: A single-token name shorter than this is never screened (acronyms, short given names).
MIN_TOKEN_CHARS = 4
#: A token held by more entries than this is common (frequent given names, business words).
COMMON_DF = 15
#: A blocking key held by more names than this is not used alone (``muhammad``, ``trading``).
BLOCK_CAP = 150
#: Partial matches: points off per token only one side has (an initial: 1), and for the one
#: token allowed to differ: a transliteration variant (same fold) or one edit (six letters+).
OMIT_PENALTY = 3.0
INITIAL_PENALTY = 1.0
FOLD_PENALTY = 3.0
EDIT_PENALTY = 8.0
#: A listed name inside a longer query is looked for when the query has at most this many
#: distinct words, and leaves at most this many over.
SUBSET_MAX_TOKENS = 8
SUBSET_MAX_LEFT_OVER = 3
#: Token similarity of two spellings with the same fold (``Laden``/``Ladin``).
FOLD_SIMILARITY = 95.0
#: A name in Arabic script matches a listed name with the same consonant skeleton, at least
#: this long, with this similarity: never exact (vowels are not written).
MIN_SKELETON = 5
SCRIPT_SIMILARITY = 92.0
DEFAULT_CACHE_SIZE = 8192
_WEIGHTS_KEPT = 200_000

_PACKAGED = "ofac_sdn_2024-05-03.csv"
_PACKAGED_ADD = "ofac_add_2023-01.csv"
_FIELDS = 12
_ADD_FIELDS = 6
_NULL = "-0-"

# --- normalisation ---------------------------------------------------------------------------

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_ARABIC_ARTICLE = re.compile("(?<![\u0600-\u06ff])\u0627\u0644(?=[\u0600-\u06ff]{2})")
_ARABIC_LETTERS = str.maketrans({
    "\u0629": "a",  # ta marbuta: -a in romanisations (Usama), anyascii writes -h
    "\u0649": "a",  # alef maksura
    "\u0638": "z",  # zah (Zawahiri), anyascii: dh
    "\u0636": "d",  # dad
    "\u0635": "s",  # sad
    "\u0637": "t",  # tah
    "\u0639": "a",  # ain: a vowel or nothing in romanisations ('Umar, 'Abd, Omar, Abd)
    "\u0621": "",  # hamza
})
_APOSTROPHES = re.compile("['`\u00b4\u2018\u2019\u02bb\u02bc\u02be\u02bf]")
_DOTTED_INITIAL = re.compile(r"\b([a-z0-9])\.(?=[a-z0-9]\b)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

#: Spelling variants of very frequent name parts, folded to one form.
_VARIANTS: dict[str, tuple[str, ...]] = {
    "muhammad": ("mohamed", "mohammed", "mohammad", "muhammed", "mohamad", "muhamad", "mohd",
                 "mhd", "mouhamed", "mouhamad", "mohamd", "muhamed", "mohammd", "mouhammad"),
    "ahmad": ("ahmed",),
    "abd": ("abdel", "abdul", "abdal", "abdoul", "abdol", "abdil"),
    "abdallah": ("abdullah", "abdulla", "abdellah", "abdalla", "abdoullah", "abdollah"),
    "abu": ("abou", "abo"),
    "usama": ("osama", "oussama", "ousama"),
    "umar": ("omar", "omer"),
    "yusuf": ("youssef", "yousef", "yousuf", "yusef", "youcef", "yussuf", "yousif", "yusif",
              "youssouf"),
    "husayn": ("hussein", "hussain", "husain", "husein", "hossein", "hussien", "houssein",
               "husseyn"),
    "mustafa": ("mostafa", "moustafa", "mustapha", "mostapha", "moustapha"),
}
_CANON = {variant: canon for canon, variants in _VARIANTS.items() for variant in variants}
#: Fused forms `abdelrahman` -> `abd rahman` (not the `abdallah` forms, folded above).
_FUSED_ABD = re.compile(r"^(?:abdel|abdul|abdal|abdoul|abdol|abdil)([a-z]{3,})$")

_CONNECTORS = frozenset(
    "al el ul ad ag ar as ash at az bin ben ibn bint binti ould wuld "
    "de da del della der des di do dos du la las le les los van von y e "
    "the of and for et und ve bn".split()
)
#: Titles, dropped when they lead a name (``Hajji`` is also a surname: ``Hamza Hajji``).
_HONORIFICS = frozenset(
    "mr mrs ms miss mme mlle dr prof sir sheikh shaykh sheik shaikh cheikh haji hajji hajj haj "
    "hadj mullah mulla maulana mawlana imam".split()
)
_LEGAL_FORMS = frozenset(
    "ltd limited llc llp lp plc inc incorporated corp corporation co company companies cia "
    "compania companhia cie sa sas sarl sarlau sprl srl spa sl sau gmbh ag kg bv nv oy ab asa "
    "aps pte pty pvt jsc ojsc cjsc pjsc pao oao zao ao ooo tov fze fzco fzc fzllc "
    "est establishment establishments ets cv rl liability obshchestvo ogranichennoi "
    "otvetstvennostyu aktsionernoe aktsionernoye publichnoe zakrytoe otkrytoe sirketi anonim "
    "sociedad anonima sherkat joint stock ltda sal".split()
)
_DROPPED = _CONNECTORS | _LEGAL_FORMS

#: Words that say what kind of business, not which one: a name of only these matches only a
#: listed name of exactly these words, and they never make a partial match distinctive.
GENERIC_WORDS = frozenset(
    "trading trade traders group international intl general global holding holdings "
    "investment investments industries industrial industry services service enterprise "
    "enterprises import export imports exports commercial commerce bank banking exchange "
    "financial finance petroleum oil gas energy shipping logistics transport construction "
    "engineering technology technologies tech solutions consulting management development "
    "national foundation association charity organization organisation institute center centre "
    "agency partners capital ventures united new first star gold golden royal universal world "
    "middle east west north south office factory plant market store shop products "
    "manufacturing marine air airlines line lines sea ocean electronics electric equipment "
    "supply supplies systems system network communications media travel tourism "
    "public state research scientific production ticaret sanayi".split()
)


def _normal_tokens(name: str) -> tuple[str, ...]:
    text = name
    if _ARABIC.search(text):
        text = _ARABIC_ARTICLE.sub("", text).translate(_ARABIC_LETTERS)
    text = anyascii(text).casefold()
    text = _APOSTROPHES.sub("", text)
    text = _DOTTED_INITIAL.sub(r"\1", text)
    tokens: list[str] = []
    for part in text.split(","):  # `LAST, Dr. First`: a title may lead each part
        leading = True
        for raw in _NON_ALNUM.sub(" ", part).split():
            token = _CANON.get(raw, raw)
            if token in _DROPPED or (leading and token in _HONORIFICS):
                continue
            leading = False
            fused = _FUSED_ABD.match(token)
            if fused:
                tokens.append("abd")
                token = _CANON.get(fused.group(1), fused.group(1))
            tokens.append(token)
    return tuple(tokens)


def normalise_name(name: str) -> str:
    """The comparable form of a name: ``'AL-ZAWAHIRI, Dr. Ayman'`` -> ``'zawahiri ayman'``."""
    return " ".join(_normal_tokens(name))


def name_key(name: str) -> str:
    """The normalised tokens, sorted: one key for one name in any word order or spelling
    variant the normalisation folds (``Banco Nacional de Cuba, S.A.`` = ``banco cuba nacional``).
    """
    return " ".join(sorted(_normal_tokens(name)))


_VOWELS = str.maketrans("eiouy", "aaaaa")
_HARD_C = re.compile(r"c(?!h)|q")
_DOUBLED = re.compile(r"([b-df-hj-np-tv-z])\1+")


@functools.lru_cache(maxsize=65536)
def _fold(token: str) -> str:
    """A token with every vowel an ``a``, hard ``c``/``q`` a ``k`` and doubled consonants single:
    transliterations of one name mostly differ there (``Laden``/``Ladin``, ``Osama``/``Usama``,
    ``Hassan``/``Hasan``, ``Kuba``/``Cuba``); ``Saad`` and ``Saeed`` stay apart."""
    return _DOUBLED.sub(r"\1", _HARD_C.sub("k", token.translate(_VOWELS)))


_SKELETON_DROP = re.compile(r"[aeiouyw]")
_REPEATS = re.compile(r"(.)\1+")


def _skeleton(tokens: Iterable[str]) -> str:
    """The consonants of a name, for names written in Arabic script (no short vowels)."""
    return _REPEATS.sub(r"\1", _SKELETON_DROP.sub("", "".join(tokens)))


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdnAlias:
    """An alternative name of an entry: ``kind`` is ``a.k.a.``, ``f.k.a.`` or ``n.k.a.``."""

    name: str
    kind: str = "a.k.a."
    weak: bool = True


@dataclass(frozen=True, slots=True)
class SdnEntry:
    """One SDN list entry (a person, an entity, a vessel or an aircraft)."""

    ent_num: int
    name: str
    sdn_type: str  # "individual", "entity", "vessel", "aircraft"
    programs: tuple[str, ...]
    title: str | None = None
    remarks: str | None = None
    aliases: tuple[SdnAlias, ...] = ()
    #: ISO 3166-1 alpha-2 codes, sorted: the countries of the entry's addresses (OFAC's
    #: ``add.csv``), those its Remarks give (nationality, citizenship, registration, place of
    #: birth, identifiers' issuers) and, when some are known, its program's (``CUBA``: CU).
    #: Empty: none known (see the module docstring).
    countries: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        return ", ".join(self.programs)


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """One listed entry a screened name matches, by its best-matching name."""

    ent_num: int
    listed_name: str
    matched_name: str  # the listed name (either word order) or the alias that matched
    sdn_type: str
    programs: tuple[str, ...]
    similarity: float  # 0..100, one decimal
    via_alias: bool
    weak_alias: bool
    method: str  # "full", "partial" or "script"

    @property
    def program(self) -> str:
        return ", ".join(self.programs)


#: Row kinds for partial matching (`_Names.surname`): no partial match, an entity's name.
_NO_PARTIAL = -1
_ENTITY = 0


@dataclass(slots=True)
class _Names:
    """The screened names as parallel lists, one row per name form (listed, reordered, alias)."""

    entry: list[int] = field(default_factory=list)  # index into Watchlist.entries
    display: list[str] = field(default_factory=list)
    alias: list[bool] = field(default_factory=list)
    weak: list[bool] = field(default_factory=list)
    tokens: list[tuple[str, ...]] = field(default_factory=list)
    folds: list[tuple[str, ...]] = field(default_factory=list)
    sorted_text: list[str] = field(default_factory=list)
    compact: list[str] = field(default_factory=list)
    skeleton: list[str] = field(default_factory=list)
    #: a person's leading surname tokens (>= 1), _ENTITY, or _NO_PARTIAL
    surname: list[int] = field(default_factory=list)

    def add(self, entry: int, display: str, tokens: tuple[str, ...], *, alias: bool,
            weak: bool, surname: int) -> None:
        self.entry.append(entry)
        self.display.append(display)
        self.alias.append(alias)
        self.weak.append(weak)
        self.tokens.append(tokens)
        self.folds.append(tuple(_fold(t) for t in tokens))
        self.sorted_text.append(" ".join(sorted(tokens)))
        self.compact.append("".join(tokens))
        self.skeleton.append(_skeleton(tokens))
        self.surname.append(surname)


_ALIAS = re.compile(r"\b([afn])\.k\.a\.\s*'(.+?)'(?=\s*;|\.?\s*$)")
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _null(value: str) -> str | None:
    value = value.strip()
    return None if not value or value == _NULL else value


def _aliases(remarks: str | None) -> tuple[SdnAlias, ...]:
    if not remarks or ".k.a." not in remarks:
        return ()
    return tuple(SdnAlias(name=m.group(2).strip(), kind=f"{m.group(1)}.k.a.", weak=True)
                 for m in _ALIAS.finditer(remarks) if m.group(2).strip())


#: OFAC's spellings of countries (``add.csv`` Country, ``nationality X`` in Remarks) that
#: pycountry does not resolve, or resolves otherwise. Kosovo (``XK`` is not ISO 3166-1, and a
#: counterparty's country is), "undetermined" and regions spanning several countries map to
#: nothing: an unknown country is simply not used.
_OFAC_COUNTRIES: dict[str, tuple[str, ...]] = {
    "bahamas, the": ("BS",),
    "brunei": ("BN",),
    "burma": ("MM",),
    "cabo verde": ("CV",),
    "congo, democratic republic of the": ("CD",),
    "congo, republic of the": ("CG",),
    "cote d ivoire": ("CI",),
    "gambia, the": ("GM",),
    "the gambia": ("GM",),
    "iran": ("IR",),
    "korea, north": ("KP",),
    "korea, south": ("KR",),
    "kosovo": (),
    "laos": ("LA",),
    "macau": ("MO",),
    "man, isle of": ("IM",),
    "netherlands antilles": ("BQ", "CW", "SX"),  # dissolved in 2010: its successors
    "north macedonia, the republic of": ("MK",),
    "palestinian": ("PS",),
    "west bank": ("PS",),
    "region: gaza": ("PS",),
    "region: crimea": ("RU", "UA"),  # Ukrainian, occupied: an address there may say either
    "region: kafia kingi": ("SD", "SS"),  # disputed between the two
    "region: northern mali": ("ML",),
    "region: commonwealth of independent states": (),
    "russia": ("RU",),
    "syria": ("SY",),
    "turkey": ("TR",),
    "undetermined": (),
    "vietnam": ("VN",),
}
#: Countries in Remarks: ``nationality X`` (``alt. nationality X``, ``Nationality of
#: Registration X``), ``citizen X`` and ``POB place, X``, each complete (followed by ``;`` or
#: the final ``.``: a country cut off by OFAC's length limit, ``Niger`` of ``Nigeria``, is not
#: read; ``nationality possibly Palestinian`` is not read either), and the country in
#: parentheses after an identifier: ``Passport 1084010 (Egypt)``, ``Tax ID No. 6454074501
#: (Russia)``, ``RIF # J-00095036-9 (Venezuela)``, ``Cedula No. ... (Colombia)``.
_COUNTRY_ITEMS = ("nationality ", "Nationality of Registration ", "citizen ", "POB ")
_DOCUMENT = re.compile(r"\(([A-Z][^()]{3,60})\)")
#: Programs aimed at one country (or two): their countries join an entry's known countries,
#: never stand in for unknown ones (the CUBA program's BANCO NACIONAL DE CUBA has addresses
#: only in Panama, Zurich, Madrid and Tokyo, yet it is Cuban). Matched on the program's
#: first word (``IRAN-EO13846``: ``IRAN``).
_PROGRAM_COUNTRIES: dict[str, tuple[str, ...]] = {
    "BELARUS": ("BY",), "BURMA": ("MM",), "CAATSA - IRAN": ("IR",),
    "CAATSA - RUSSIA": ("RU",), "CAR": ("CF",), "CUBA": ("CU",), "DARFUR": ("SD",),
    "DPRK": ("KP",), "DPRK2": ("KP",), "DPRK3": ("KP",), "DPRK4": ("KP",),
    "DRCONGO": ("CD",), "ETHIOPIA": ("ET",), "HK": ("CN", "HK"), "HRIT-IR": ("IR",),
    "HRIT-SY": ("SY",), "IRAN": ("IR",),
    "IRAQ2": ("IQ",), "IRAQ3": ("IQ",), "IRGC": ("IR",), "LEBANON": ("LB",),
    "LIBYA2": ("LY",), "LIBYA3": ("LY",), "MALI": ("ML",), "NICARAGUA": ("NI",),
    "RUSSIA": ("RU",), "SOMALIA": ("SO",), "SOUTH SUDAN": ("SS",), "SUDAN": ("SD",),
    "SYRIA": ("SY",), "UKRAINE": ("RU", "UA"), "VENEZUELA": ("VE",), "YEMEN": ("YE",),
}


@functools.cache
def _country_names() -> dict[str, tuple[str, ...]]:
    """Every country's ISO 3166-1 name, official and common name (pycountry), casefolded,
    then OFAC's own spellings: a dictionary look-up, not a search, per name."""
    names: dict[str, tuple[str, ...]] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names[" ".join(value.split()).casefold()] = (country.alpha_2,)
    names.update(_OFAC_COUNTRIES)
    return names


def country_codes(name: str) -> tuple[str, ...]:
    """ISO 3166-1 alpha-2 codes of a country as OFAC writes it (``Korea, North`` -> ``KP``,
    ``Burma`` -> ``MM``, ``Iran`` -> ``IR``, ``Netherlands Antilles`` -> its successors);
    ``()`` when not known (``undetermined``, ``Kosovo``, a city)."""
    return _country_names().get(" ".join(name.split()).casefold(), ())


def _place_codes(place: str) -> tuple[str, ...]:
    """The country a place ends with (``Giza, Egypt`` -> EG, ``Pyongyang, Korea, North`` ->
    KP), or ``()``."""
    parts = place.split(",")
    for i in range(len(parts) - 1, -1, -1):
        codes = country_codes(",".join(parts[i:]).replace(",", ", "))
        if codes:
            return codes
    return ()


def _remark_countries(remarks: str | None) -> tuple[str, ...]:
    """The countries Remarks give (nationality, citizenship, birth, identifiers), sorted."""
    if not remarks:
        return ()
    items = remarks.split(";")
    last = items[-1].rstrip()
    if last.endswith("."):
        items[-1] = last[:-1]
    else:
        items.pop()  # cut off by OFAC's length limit
    codes: set[str] = set()
    for item in items:
        item = item.strip().removeprefix("alt. ")
        for prefix in _COUNTRY_ITEMS:
            if item.startswith(prefix):
                codes.update(_place_codes(item[len(prefix):]))
                break
    if "(" in remarks:
        codes.update(code for m in _DOCUMENT.finditer(remarks)
                     for code in country_codes(m.group(1)))
    return tuple(sorted(codes))


def _program_countries(programs: tuple[str, ...]) -> set[str]:
    codes: set[str] = set()
    for program in programs:
        first = re.split(r"[-\s]", program, maxsplit=1)[0]
        codes.update(_PROGRAM_COUNTRIES.get(program, _PROGRAM_COUNTRIES.get(first, ())))
    return codes


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the watchlist file {path}: {exc.strerror}.") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank CSV record; the DOS end-of-file byte is blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(f"{path.name} line {reader.line_num}: not valid CSV ({exc}).") from exc
        if all(not cell.strip(" \t\x1a") for cell in row):
            continue
        yield reader.line_num, row


def _ent_num(value: str, path: Path, line: int) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"{path.name} line {line}: ent_num {value.strip()!r} is not an "
                         "integer.") from None


def _parse_sdn(text: str, path: Path) -> list[SdnEntry]:
    entries: list[SdnEntry] = []
    seen: set[int] = set()
    for line, row in _rows(text, path):
        if not entries and row[0].strip().lower() == "ent_num":
            continue  # a header line some re-publishers add
        if len(row) != _FIELDS:
            raise ValueError(f"{path.name} line {line}: expected the {_FIELDS} comma-separated "
                             f"fields of the OFAC SDN layout, found {len(row)}.")
        ent_num = _ent_num(row[0], path, line)
        name = _null(row[1])
        if name is None:
            raise ValueError(f"{path.name} line {line}: entry {ent_num} has no SDN_Name.")
        if ent_num in seen:
            raise ValueError(f"{path.name} line {line}: entry {ent_num} appears twice.")
        seen.add(ent_num)
        remarks = _null(row[11])
        entries.append(SdnEntry(
            ent_num=ent_num,
            name=name,
            sdn_type=(_null(row[2]) or "entity").lower(),
            programs=tuple(p.strip() for p in re.split(r"\]\s*\[", _null(row[3]) or "")
                           if p.strip()),
            title=_null(row[4]),
            remarks=remarks,
            aliases=_aliases(remarks),
            countries=_remark_countries(remarks),
        ))
    if not entries:
        raise ValueError(f"{path.name}: no SDN entries found.")
    return entries


def _parse_alt(text: str, path: Path) -> dict[int, list[SdnAlias]]:
    """OFAC's ``alt.csv``: ``ent_num, alt_num, alt_type, alt_name, alt_remarks`` (strong)."""
    strong: dict[int, list[SdnAlias]] = {}
    for line, row in _rows(text, path):
        if not strong and row[0].strip().lower() == "ent_num":
            continue
        if len(row) != 5:
            raise ValueError(f"{path.name} line {line}: expected the 5 comma-separated fields "
                             f"of the OFAC alt.csv layout, found {len(row)}.")
        ent_num = _ent_num(row[0], path, line)
        name = _null(row[3])
        if name is not None:
            kind = (_null(row[2]) or "aka").lower().replace(".", "")
            strong.setdefault(ent_num, []).append(
                SdnAlias(name=name, kind=".".join(kind) + "." if len(kind) == 3 else kind,
                         weak=False))
    return strong


def _parse_add(text: str, path: Path) -> dict[int, set[str]]:
    """OFAC's ``add.csv``: ``ent_num, Add_num, Address, City/State/Province/Postal Code,
    Country, Add_remarks``; the countries of each entry's addresses (unknown ones left out)."""
    countries: dict[int, set[str]] = {}
    first = True
    for line, row in _rows(text, path):
        if first and row[0].strip().lower() in ("ent_num", "id"):
            first = False
            continue  # a header line some re-publishers add
        first = False
        if len(row) != _ADD_FIELDS:
            raise ValueError(f"{path.name} line {line}: expected the {_ADD_FIELDS} "
                             f"comma-separated fields of the OFAC add.csv layout, found "
                             f"{len(row)}.")
        ent_num = _ent_num(row[0], path, line)
        country = _null(row[4])
        if country is not None:
            codes = country_codes(country)
            if codes:
                countries.setdefault(ent_num, set()).update(codes)
    return countries


def _split_person(name: str) -> tuple[tuple[str, ...], tuple[str, ...], str] | None:
    """(surname tokens, given tokens, ``Given SURNAME``) of ``SURNAME, Given``."""
    surname, sep, given = name.partition(",")
    if not sep:
        return None
    s_tokens, g_tokens = _normal_tokens(surname), _normal_tokens(given)
    if not s_tokens or not g_tokens:
        return None
    return s_tokens, g_tokens, f"{given.strip()} {surname.strip()}"


@functools.cache
def _packaged() -> Watchlist:
    data = resources.files("detectors") / "data"
    with resources.as_file(data / _PACKAGED) as path, \
            resources.as_file(data / _PACKAGED_ADD) as add_path:
        watchlist = Watchlist.from_csv(path, add_path=add_path)
    watchlist.source = f"detectors/data/{_PACKAGED}"
    watchlist.add_source = f"detectors/data/{_PACKAGED_ADD}"
    return watchlist


class Watchlist:
    """The SDN list, indexed for fuzzy name screening (see the module docstring).

    Build it with `from_csv` or `default`. `screen` never does I/O; its caches are bounded and
    thread-safe, and its results depend only on the name and the threshold.
    """

    def __init__(self, entries: Iterable[SdnEntry], *, as_of: str | None = None,
                 source: str = "", add_source: str | None = None,
                 cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.entries: tuple[SdnEntry, ...] = tuple(entries)
        self.as_of = as_of
        self.source = source
        #: the address file the entries' countries come from, if one was loaded
        self.add_source = add_source
        self._by_ent = {e.ent_num: e for e in self.entries}
        self._names = _Names()
        self._add_names()
        self._df = self._document_frequency()
        self._person_df = self._document_frequency(persons=True)
        self._idf_base = math.log(len(self.entries) + 1)
        self._weights: dict[str, float] = {}
        self._index = self._build_index()
        self._prepare = functools.lru_cache(maxsize=cache_size)(self._prepare_uncached)
        self._screen_key = functools.lru_cache(maxsize=cache_size)(self._screen_uncached)

    # -- construction --------------------------------------------------------------------

    @classmethod
    def from_csv(cls, path: Path | str, *, as_of: str | None = None,
                 alt_path: Path | str | None = None, add_path: Path | str | None = None,
                 cache_size: int = DEFAULT_CACHE_SIZE) -> Watchlist:
        """Load an OFAC SDN file (``sdn.csv`` layout); ``as_of`` defaults to the ``YYYY-MM-DD``
        date in the file name, if any.

        ``alt_path``: OFAC's ``alt.csv`` of strong aliases (optional). ``add_path``: OFAC's
        ``add.csv`` of addresses (optional), joined on ``ent_num``: the countries of an entry's
        addresses join those its Remarks give (`SdnEntry.countries`); addresses of entries not
        in the SDN file are ignored. A malformed file raises ValueError naming the file and
        line.
        """
        path = Path(path)
        entries = _parse_sdn(_read_text(path), path)
        strong: dict[int, list[SdnAlias]] = {}
        if alt_path is not None:
            alt = Path(alt_path)
            strong = _parse_alt(_read_text(alt), alt)
        located: dict[int, set[str]] = {}
        if add_path is not None:
            add = Path(add_path)
            located = _parse_add(_read_text(add), add)
        merged = []
        for e in entries:
            aliases = (*strong[e.ent_num], *e.aliases) if e.ent_num in strong else e.aliases
            known = located.get(e.ent_num, set()).union(e.countries)
            if known:  # a country-specific program's country joins the known ones
                known.update(_program_countries(e.programs))
            countries = tuple(sorted(known))
            if aliases is not e.aliases or countries != e.countries:
                e = dataclasses.replace(e, aliases=aliases, countries=countries)
            merged.append(e)
        if as_of is None:
            found = _DATE_IN_NAME.search(path.name)
            as_of = found.group(1) if found else None
        return cls(merged, as_of=as_of, source=str(path),
                   add_source=None if add_path is None else str(add_path),
                   cache_size=cache_size)

    @classmethod
    def default(cls) -> Watchlist:
        """The packaged list (``detectors/data/ofac_sdn_2024-05-03.csv``) with the packaged
        addresses (``detectors/data/ofac_add_2023-01.csv``), loaded once."""
        return _packaged()

    def _add_names(self) -> None:
        names = self._names
        for i, entry in enumerate(self.entries):
            person = entry.sdn_type == "individual"
            for alias, name in ((None, entry.name), *((a, a.name) for a in entry.aliases)):
                weak = alias is not None and alias.weak
                split = _split_person(name) if person and not weak else None
                if split is not None:
                    surname, given, reordered = split
                    names.add(i, name, surname + given, alias=alias is not None, weak=False,
                              surname=len(surname))
                    names.add(i, reordered, given + surname, alias=alias is not None,
                              weak=False, surname=_NO_PARTIAL)
                    continue
                tokens = _normal_tokens(name)
                if not tokens or (weak and not _distinct_enough(tokens)):
                    continue
                if weak or entry.sdn_type not in ("individual", "entity"):
                    kind = _NO_PARTIAL
                else:
                    kind = len(tokens) if person else _ENTITY
                names.add(i, name, tokens, alias=alias is not None, weak=weak, surname=kind)

    def _document_frequency(self, *, persons: bool = False) -> Counter[str]:
        """How many entries (only individuals if ``persons``) hold each token."""
        per_entry: dict[int, set[str]] = {}
        for entry, tokens in zip(self._names.entry, self._names.tokens, strict=True):
            if not persons or self.entries[entry].sdn_type == "individual":
                per_entry.setdefault(entry, set()).update(tokens)
        df: Counter[str] = Counter()
        for tokens_of_entry in per_entry.values():
            df.update(tokens_of_entry)
        return df

    def _build_index(self) -> dict[str, tuple[int, ...]]:
        index: dict[str, list[int]] = {}
        names = self._names
        for row, tokens in enumerate(names.tokens):
            keys = {"f:" + fold for fold in names.folds[row]}
            keys.update("p:" + t[:4] for t in tokens if len(t) >= 5)
            keys.update("s:" + t[-4:] for t in tokens if len(t) >= 5)
            keys.add("c:" + names.compact[row])
            keys.add("e:" + names.sorted_text[row])
            if names.surname[row] != _NO_PARTIAL:
                keys.add("u:" + " ".join(sorted(set(names.folds[row]))))
            if len(names.skeleton[row]) >= MIN_SKELETON:
                keys.add("x:" + names.skeleton[row])
            for key in keys:
                postings = index.get(key)
                if postings is None:
                    index[key] = [row]
                else:
                    postings.append(row)
        return {key: tuple(rows) for key, rows in index.items()}

    # -- the public surface --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> int:
        """How many names are indexed (primary names in both word orders, and aliases)."""
        return len(self._names.entry)

    def entry(self, ent_num: int) -> SdnEntry:
        return self._by_ent[ent_num]

    def __repr__(self) -> str:
        return (f"Watchlist(entries={len(self)}, names={self.names}, as_of={self.as_of!r}, "
                f"source={self.source!r})")

    def screen(self, name: str, *, threshold: float = DEFAULT_THRESHOLD) -> list[WatchlistMatch]:
        """The listed entries ``name`` matches with ``threshold`` similarity or more, best first.

        Names with nothing distinctive (see the module docstring) match nothing.
        """
        if not MIN_THRESHOLD <= threshold <= 100.0:
            raise ValueError(f"threshold must be between {MIN_THRESHOLD} and 100, got "
                             f"{threshold}.")
        prepared = self._prepare(name)
        if prepared is None:
            return []
        return [m for m in self._screen_key(*prepared) if m.similarity >= threshold]

    def screened(self, name: str) -> bool:
        """Whether ``name`` is screened at all (not empty, a lone short token or a lone common
        name)."""
        return self._prepare(name) is not None

    def cache_info(self) -> dict[str, Any]:
        """The LRU caches' statistics: ``raw`` (name -> tokens), ``normalised`` (results)."""
        return {"raw": self._prepare.cache_info(), "normalised": self._screen_key.cache_info()}

    def cache_clear(self) -> None:
        self._prepare.cache_clear()
        self._screen_key.cache_clear()

    # -- screening -----------------------------------------------------------------------

    def _prepare_uncached(self, name: str) -> tuple[tuple[str, ...], bool, bool] | None:
        """(tokens, written in Arabic script, exact matches only), or None: not screened."""
        tokens = _normal_tokens(name)
        if not tokens or (len(tokens) == 1 and len(tokens[0]) < MIN_TOKEN_CHARS):
            return None  # nothing left, or a lone short token (`BNC`, `Ali`)
        if len(tokens) == 1 and self._person_df[tokens[0]] > COMMON_DF:
            return None  # a common given name or surname alone (`Mohamed`, `Vladimir`)
        generic = all(t in GENERIC_WORDS for t in tokens)
        return tokens, bool(_ARABIC.search(name)), generic

    def _screen_uncached(self, tokens: tuple[str, ...], script: bool,
                         exact_only: bool) -> tuple[WatchlistMatch, ...]:
        names, index = self._names, self._index
        folds = tuple(_fold(t) for t in tokens)
        best: dict[int, tuple[float, int, str]] = {}  # entry -> (similarity, row, method)

        def keep(row: int, score: float, method: str) -> None:
            if score < MIN_THRESHOLD or (names.weak[row] and score < 100.0):
                return
            entry = names.entry[row]
            old = best.get(entry)
            if old is None or (score, not names.alias[row], -row) > (
                    old[0], not names.alias[old[1]], -old[1]):
                best[entry] = (score, row, method)

        for key in ("e:" + " ".join(sorted(tokens)), "c:" + "".join(tokens)):
            for row in index.get(key, ()):
                keep(row, 100.0, "full")  # the same words, or letters spaced differently
        if exact_only:  # generic words only (`Tourism Bank`): the very name listed, or nothing
            return self._matches(best)

        # blocking: the rows sharing a key with each token (rare keys only)
        per_token: list[set[int]] = []
        common: list[tuple[int, ...]] = []
        for token, fold in zip(tokens, folds, strict=True):
            rows: set[int] = set()
            postings = index.get("f:" + fold, ())
            if len(postings) > BLOCK_CAP:
                common.append(postings)
            elif postings:
                rows.update(postings)
            elif len(token) >= 5:  # a word the list does not know: maybe misspelt
                for key in ("p:" + token[:4], "s:" + token[-4:]):
                    postings = index.get(key, ())
                    if len(postings) <= BLOCK_CAP:
                        rows.update(postings)
            per_token.append(rows)
        candidates: set[int] = set().union(*per_token)
        if not candidates and len(common) >= 2:
            common.sort(key=len)
            candidates = set(common[0]).intersection(common[1])

        if candidates:
            rows_list = list(candidates)
            texts = [names.sorted_text[r] for r in rows_list]
            for _, score, pos in process.extract(" ".join(sorted(tokens)), texts,
                                                 scorer=fuzz.ratio, score_cutoff=MIN_THRESHOLD,
                                                 limit=None):
                row = rows_list[pos]
                keep(row, min(score, self._aligned(tokens, folds, row)), "full")
            for row in self._partial_candidates(tokens, folds, per_token):
                partial = self._partial(tokens, folds, row)
                if partial is not None:
                    keep(row, partial, "partial")

        if script and len(tokens) >= 2 and all(len(_skeleton((t,))) >= 2 for t in tokens):
            skeleton = _skeleton(tokens)
            if len(skeleton) >= MIN_SKELETON:
                for row in index.get("x:" + skeleton, ()):
                    # as many words, or one fewer: Arabic often spaces compounds (`نصر الله`)
                    if len(names.tokens[row]) in (len(tokens), len(tokens) - 1):
                        keep(row, SCRIPT_SIMILARITY, "script")
        return self._matches(best)

    def _matches(self, best: dict[int, tuple[float, int, str]]) -> tuple[WatchlistMatch, ...]:
        names = self._names
        matches = []
        for entry_i, (score, row, method) in best.items():
            entry = self.entries[entry_i]
            matches.append(WatchlistMatch(
                ent_num=entry.ent_num,
                listed_name=entry.name,
                matched_name=names.display[row],
                sdn_type=entry.sdn_type,
                programs=entry.programs,
                similarity=round(score, 1),
                via_alias=names.alias[row],
                weak_alias=names.weak[row],
                method=method,
            ))
        matches.sort(key=lambda m: (-m.similarity, m.via_alias, m.weak_alias, m.ent_num))
        return tuple(matches)

    def _weight(self, token: str) -> float:
        """Inverse document frequency: a rare surname counts more than ``muhammad``."""
        weight = self._weights.get(token)
        if weight is None:
            weight = 1.0 + self._idf_base - math.log(1 + self._df[token])
            if len(self._weights) < _WEIGHTS_KEPT:
                self._weights[token] = weight
        return weight

    def _aligned(self, tokens: tuple[str, ...], folds: tuple[str, ...], row: int) -> float:
        """Each token of either name scored against its best counterpart in the other,
        averaged with rarity weights: a long common given name cannot carry a different
        surname over the threshold (``Hassan Rami`` is not ``KARAMI, Hassan``)."""
        other, other_folds = self._names.tokens[row], self._names.folds[row]
        total = weights = 0.0
        for side, side_folds, against, against_folds in (
                (tokens, folds, other, other_folds), (other, other_folds, tokens, folds)):
            for token, fold in zip(side, side_folds, strict=True):
                if token in against:
                    best = 100.0
                elif fold in against_folds:
                    best = FOLD_SIMILARITY
                else:
                    found = process.extractOne(token, against, scorer=fuzz.ratio)
                    best = found[1] if found else 0.0
                weight = self._weight(token)
                total += weight * best
                weights += weight
        return total / weights

    def _partial_candidates(self, tokens: tuple[str, ...], folds: tuple[str, ...],
                            per_token: list[set[int]]) -> list[int]:
        """Rows that may hold all of the query's tokens (those with a rare key), and rows all
        of whose tokens the query holds."""
        names = self._names
        k = len(tokens)
        rare = [r for r in per_token if r]
        found: set[int] = set()
        if rare:
            found = set.intersection(*rare) if len(rare) > 1 else set(rare[0])
            found = {r for r in found if len(names.tokens[r]) > k}
        unique = sorted(set(folds))
        if 2 < len(unique) <= SUBSET_MAX_TOKENS:  # listed names made of some of these words
            # two words at least: a one-word listed name never matches inside a longer query
            for size in range(max(2, len(unique) - SUBSET_MAX_LEFT_OVER), len(unique)):
                for subset in combinations(unique, size):
                    found.update(self._index.get("u:" + " ".join(subset), ()))
        return sorted(r for r in found if names.surname[r] != _NO_PARTIAL)

    def _partial(self, query: tuple[str, ...], q_folds: tuple[str, ...],
                 row: int) -> float | None:
        """Similarity when one name's tokens are a subset of the other's (see the rules)."""
        names = self._names
        listed, l_folds, surname = names.tokens[row], names.folds[row], names.surname[row]
        if len(listed) == 1 and len(query) > 1:
            return None  # a one-word listed name (`RIF`) with query words left over
        query_smaller = len(query) < len(listed)
        if query_smaller:
            small, s_folds, large, g_folds = query, q_folds, listed, l_folds
        else:
            small, s_folds, large, g_folds = listed, l_folds, query, q_folds
        single = len(small) == 1
        if single and len(small[0]) < MIN_TOKEN_CHARS:
            return None
        used = [False] * len(large)
        inexact = 0.0
        distinctive = False
        for token, fold in zip(small, s_folds, strict=True):
            j = next((k for k, other in enumerate(large) if not used[k] and other == token), -1)
            if j < 0:
                if inexact or single:
                    return None  # a second token that differs, or a lone one
                for k, other in enumerate(large):
                    if used[k]:
                        continue
                    if fold == g_folds[k] and len(token) >= 5 and len(other) >= 5:
                        j, inexact = k, FOLD_PENALTY
                        break
                    if _one_edit(token, other):
                        j, inexact = k, EDIT_PENALTY
                        break
                if j < 0:
                    return None
            used[j] = True
            if token not in GENERIC_WORDS and self._df[token] <= COMMON_DF and (
                    surname != _ENTITY or self._person_df[token] == 0):
                distinctive = True
        if not distinctive:
            return None
        if surname == _ENTITY:
            # an entity: only generic words may be left over (`Rosneft` ~ `ROSNEFT OIL COMPANY`)
            if any(not used[k] and large[k] not in GENERIC_WORDS for k in range(len(large))):
                return None
        elif len(small) < 2:
            return None
        elif query_smaller and (not all(used[:surname]) or not any(used[surname:])):
            return None  # a person: the listed surname in full, and at least one given name
        penalty = sum(INITIAL_PENALTY if len(large[k]) == 1 else OMIT_PENALTY
                      for k in range(len(large)) if not used[k])
        return 100.0 - penalty - inexact


def _distinct_enough(tokens: tuple[str, ...]) -> bool:
    """Not a lone short token (``BNC``, ``Ali``) and not only generic words (``Trading``)."""
    if len(tokens) == 1 and len(tokens[0]) < MIN_TOKEN_CHARS:
        return False
    return any(t not in GENERIC_WORDS for t in tokens)


def _one_edit(a: str, b: str) -> bool:
    """One edit apart, both six letters or longer (in a short name one letter is a lot)."""
    return len(a) >= 6 and len(b) >= 6 and Levenshtein.distance(a, b, score_cutoff=1) <= 1


