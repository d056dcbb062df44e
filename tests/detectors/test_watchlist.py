"""The OFAC SDN watchlist: parsing the real file, normalisation, screening tables, bad files.

Expected matches are real listings of the packaged file (OFAC SDN, 2024-05-03); the hard
negatives are common Moroccan names and business words that must not match at the default
threshold.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from detectors.watchlist import (
    DEFAULT_THRESHOLD,
    LIST_NAME,
    SdnAlias,
    Watchlist,
    WatchlistMatch,
    country_codes,
    name_key,
    normalise_name,
)

PACKAGED = Path(__file__).resolve().parents[2] / "detectors" / "data" / "ofac_sdn_2024-05-03.csv"


@pytest.fixture(scope="module")
def wl() -> Watchlist:
    return Watchlist.default()


def best(wl: Watchlist, name: str) -> WatchlistMatch | None:
    found = wl.screen(name)
    return found[0] if found else None


# --- the packaged file ---------------------------------------------------------------------


def test_packaged_file_is_the_unchanged_ofac_download() -> None:
    data = PACKAGED.read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "210ca6b4a8187a34e0850be69ecc6e91"
        "8f23ad7778b8b5b2f9c9d5fbbaf4e0cb")
    assert data.endswith(b"\r\n\x1a")  # OFAC's own line ends and DOS end-of-file byte
    assert data.count(b"\r\n") == 14965


def test_parses_every_entry_of_the_real_file(wl: Watchlist) -> None:
    assert len(wl) == 14965
    assert wl.as_of == "2024-05-03"
    assert wl.source == "detectors/data/ofac_sdn_2024-05-03.csv"
    assert wl.names > len(wl)  # people in both word orders, and aliases
    types = {e.sdn_type for e in wl.entries}
    assert types == {"individual", "entity", "vessel", "aircraft"}
    assert sum(e.sdn_type == "individual" for e in wl.entries) == 6854
    assert sum(e.sdn_type == "entity" for e in wl.entries) == 6884


def test_default_is_loaded_once(wl: Watchlist) -> None:
    assert Watchlist.default() is wl


def test_entry_fields(wl: Watchlist) -> None:
    cuba = wl.entry(306)
    assert cuba.name == "BANCO NACIONAL DE CUBA"
    assert cuba.sdn_type == "entity"  # "-0-" in the file
    assert cuba.programs == ("CUBA",)
    assert cuba.title is None
    nasrallah = wl.entry(2686)
    assert nasrallah.sdn_type == "individual"
    assert nasrallah.programs == ("SDGT", "SYRIA")  # "SDGT] [SYRIA" in the file
    assert nasrallah.program == "SDGT, SYRIA"
    assert nasrallah.title == "Secretary General of Hizballah"


def test_aliases_are_found_in_remarks_and_marked_weak(wl: Watchlist) -> None:
    assert wl.entry(306).aliases == (SdnAlias(name="BNC", kind="a.k.a.", weak=True),)
    saburinezhad = wl.entry(28683).aliases
    assert [a.name for a in saburinezhad] == ["Engineer Morteza", "SABURI, Hasan",
                                               "MURTADA, Muhandis"]
    sinaloa = {(a.kind, a.name) for a in wl.entry(11440).aliases}
    assert ("f.k.a.", "MEXICAN FEDERATION") in sinaloa
    assert wl.entry(41920).aliases == (SdnAlias(name="LGOK", kind="n.k.a.", weak=True),)
    assert sum(len(e.aliases) for e in wl.entries) == 3663
    assert all(a.weak for e in wl.entries for a in e.aliases)


def test_an_alias_cut_off_by_the_remarks_length_limit_is_ignored(wl: Watchlist) -> None:
    names = [a.name for a in wl.entry(27307).aliases]
    assert names[0] == "HIDDEN COBRA"
    assert not any(n.startswith("WHOIS") for n in names)  # "a.k.a. 'WHOIS HACKIN" (cut)


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("AL-ZAWAHIRI, Dr. Ayman", "zawahiri ayman"),
        ("Ayman El Zawahiri", "ayman zawahiri"),
        ("CECOEX, S.A.", "cecoex"),
        ("Cecoex SARL", "cecoex"),
        ("ANGLO-CARIBBEAN CO., LTD.", "anglo caribbean"),
        ("JOINT STOCK COMPANY SBERBANK", "sberbank"),
        ("ПАО Сбербанк", "sberbank"),
        ("Владимир Путин", "vladimir putin"),
        ("Rafael Álvarez Pineda", "rafael alvarez pineda"),
        ("Ḥasan Naṣrallāh", "hasan nasrallah"),
        ("Mohammed Abdelrahman", "muhammad abd rahman"),
        ("'ABD-AL-DAYIM NASRALLAH, Muhammad Ahmad", "abd dayim nasrallah muhammad ahmad"),
        ("O'NEILL ASSETS CORPORATION", "oneill assets"),
        ("Usama bin Muhammad bin Awad", "usama muhammad awad"),
        ("Sheikh Hamza Hajji", "hamza hajji"),  # a leading title goes, a surname stays
        ("حسن نصر الله", "hsn nsr lh"),
        ("  ", ""),
    ],
)
def test_normalise_name(raw: str, normal: str) -> None:
    assert normalise_name(raw) == normal


def test_name_key_ignores_order_case_and_legal_form() -> None:
    assert name_key("Banco Nacional de Cuba S.A.") == name_key("CUBA, BANCO NACIONAL DE")
    assert name_key("Hasan Nasrallah") == name_key("NASRALLAH, Hasan")


# --- screening: what matches -----------------------------------------------------------------

MATCHES = [
    # (query, ent_num, method, lowest similarity)
    ("Banco Nacional de Cuba", 306, "full", 100),
    ("BANCO NACIONAL DE CUBA", 306, "full", 100),
    ("Hasan Nasrallah", 2686, "full", 100),  # "First Last" of NASRALLAH, Hasan
    ("nasrallah, hasan", 2686, "full", 100),
    ("Mr. Hasan Nasrallah", 2686, "full", 100),
    ("Ayman El Zawahiri", 2676, "full", 100),  # AL ZAWAHIRI, Dr. Ayman
    ("Ayman al-Zawahiri", 2676, "full", 100),
    ("Joaquin Guzman Loera", 6861, "full", 100),
    ("Kim Jong Un", 20157, "full", 100),
    # accents and other scripts
    ("Rafael Álvarez Pineda", 16457, "full", 100),
    ("Àyman Al-Ẓawāhirī", 2676, "full", 100),
    ("Рамзан Ахматович Кадыров", 23343, "full", 100),
    ("Путин Владимир Владимирович", 35096, "full", 100),
    ("Сбербанк", 18715, "full", 100),
    ("حسن نصر الله", 2686, "script", 92),
    ("حسن نصرالله", 2686, "script", 92),
    ("أيمن الظواهري", 2676, "script", 92),
    # transliteration variants and typos
    ("Hassan Nasrallah", 2686, "full", 95),
    ("Ayman Zawahri", 2676, "full", 95),
    ("Banco Nacionl de Cuba", 306, "full", 95),
    ("Banco Nacional de Kuba", 306, "full", 93),
    ("Anglo-Carribean Co Ltd", 173, "full", 92),
    ("Aerocaribean Airlines", 36, "full", 95),
    ("Joaquin Guzman Loerra", 6861, "full", 95),
    ("Vladimir Vladimirovich Putim", 35096, "full", 90),
    ("Rosoboronexport", 18782, "full", 90),  # ROSOBORONEKSPORT OAO
    # legal forms
    ("Anglo Caribbean Company Limited", 173, "full", 100),  # ANGLO-CARIBBEAN CO., LTD.
    ("Cecoex SARL", 480, "full", 100),  # CECOEX, S.A.
    ("Sberbank", 18715, "full", 100),  # JOINT STOCK COMPANY SBERBANK
    ("Hasan Nasrallah SARL", 2686, "full", 100),
    ("Hizb Allah", 4697, "full", 100),  # HIZBALLAH, spaced differently
    # partial names
    ("Vladimir Putin", 35096, "partial", 96),  # PUTIN, Vladimir Vladimirovich
    ("Владимир Путин", 35096, "partial", 96),
    ("Ramzan Kadyrov", 23343, "partial", 96),
    ("Usama bin Ladin", 6365, "partial", 93),  # BIN LADIN, Usama bin Muhammad bin Awad
    ("Osama bin Laden", 6365, "partial", 90),
    ("Joaquín Archivaldo Guzmán Loera", 6861, "partial", 96),  # more names than listed
    ("Mohammed Saad Alzahrani", 26080, "partial", 98),  # ALZAHRANI, Mohammed Saad H.
    ("Rosneft", 18299, "partial", 96),  # ROSNEFT TRADING S.A.
    # generic words, when exactly the listed name
    ("Tourism Bank", 13141, "full", 100),
]


@pytest.mark.parametrize(("query", "ent_num", "method", "lowest"), MATCHES,
                         ids=[m[0] for m in MATCHES])
def test_listed_names_match(wl: Watchlist, query: str, ent_num: int, method: str,
                            lowest: float) -> None:
    match = best(wl, query)
    assert match is not None, f"{query!r} matched nothing"
    assert match.ent_num == ent_num
    assert match.method == method
    assert lowest <= match.similarity <= 100
    assert match.listed_name == wl.entry(ent_num).name


def test_a_match_says_which_entry_and_name(wl: Watchlist) -> None:
    match = best(wl, "Vladimir Putin")
    assert match == WatchlistMatch(
        ent_num=35096, listed_name="PUTIN, Vladimir Vladimirovich",
        matched_name="PUTIN, Vladimir Vladimirovich", sdn_type="individual",
        programs=("RUSSIA-EO14024",), similarity=97.0, via_alias=False, weak_alias=False,
        method="partial")
    assert match.program == "RUSSIA-EO14024"


@pytest.mark.parametrize(
    ("query", "ent_num", "alias"),
    [
        ("Hidden Cobra", 27307, "HIDDEN COBRA"),
        ("Mexican Federation", 11440, "MEXICAN FEDERATION"),  # f.k.a. of SINALOA CARTEL
        ("Engineer Morteza", 28683, "Engineer Morteza"),
    ],
)
def test_weak_aliases_match_exactly(wl: Watchlist, query: str, ent_num: int,
                                    alias: str) -> None:
    match = best(wl, query)
    assert match is not None and match.ent_num == ent_num
    assert match.via_alias and match.weak_alias
    assert match.matched_name == alias
    assert match.similarity == 100


def test_weak_aliases_do_not_match_fuzzily(wl: Watchlist) -> None:
    assert best(wl, "Hidden Kobras") is None
    assert best(wl, "Mexican Federations") is None


def test_primary_name_wins_over_an_alias_on_a_tie(wl: Watchlist) -> None:
    match = best(wl, "Sinaloa Cartel")
    assert match is not None and match.ent_num == 11440
    assert not match.via_alias


def test_vessels_and_aircraft_match_in_full_only(wl: Watchlist) -> None:
    assert [m.ent_num for m in wl.screen("Olympia")] == [37445]
    assert wl.screen("Olympia")[0].sdn_type == "vessel"
    assert wl.screen("Olympia Travel") == []


def test_results_are_sorted_best_first_then_by_ent_num(wl: Watchlist) -> None:
    found = wl.screen("Mohamed Ali", threshold=80)
    assert len(found) > 3
    keys = [(-m.similarity, m.via_alias, m.weak_alias, m.ent_num) for m in found]
    assert keys == sorted(keys)
    assert len({m.ent_num for m in found}) == len(found)  # one match per entry


# --- screening: what must not match -----------------------------------------------------------

NOT_MATCHES = [
    # common Moroccan names
    "Mohamed Alami", "Mohammed Alami", "Fatima Zahra Bennani", "Fatima-Zahra Bennani",
    "Youssef El Idrissi", "Khadija Tazi", "Rachid Alaoui", "Karim Benjelloun", "Nadia Chraibi",
    "Hicham Berrada", "Omar Fassi Fihri", "Amine Lahlou", "Ahmed Benali",
    "Zine El Abidine Ben Ali", "محمد العلمي", "فاطمة الزهراء بناني", "يوسف الإدريسي",
    # near misses of listed names (KARAMI, Hassan; LAHBOUS, Mohamed; 'ALI, Samir;
    # GUZMAN LOPEZ, Joaquin; SAEED, Muhammad)
    "Hassan Rami", "Mohamed Lahlou", "Samir Alami", "Mohamed Mansouri",
    # a surname or given names alone, a country alone
    "Putin", "Vladimir Vladimirovich", "Cuba", "Nasrallah",
    # generic words and short names
    "Trading Company", "Bank", "Global Trading Group", "International Trading SARL",
    "Import Export", "Société Générale", "Attijariwafa Bank", "Royal Air Maroc",
    "BNC", "Ali", "Li", "Kim", "A.B.C.", "Mohamed", "Muhammad", "Vladimir", "", "   ", "-",
    "Counterparty",
]


@pytest.mark.parametrize("query", NOT_MATCHES)
def test_hard_negatives_do_not_match(wl: Watchlist, query: str) -> None:
    assert wl.screen(query) == [], f"{query!r} matched {wl.screen(query)[:1]}"


def test_joaquin_guzman_loera_does_not_also_match_his_relative(wl: Watchlist) -> None:
    assert [m.ent_num for m in wl.screen("Joaquin Guzman Loera")] == [6861]


@pytest.mark.parametrize("query", ["BNC", "Ali", "Mohamed", "Vladimir", "", "..."])
def test_short_and_common_names_are_not_screened_at_all(wl: Watchlist, query: str) -> None:
    assert not wl.screened(query)
    assert wl.screen(query, threshold=80) == []


def test_a_listed_exact_common_name_does_match(wl: Watchlist) -> None:
    """Names only: the listed "'ALI, Muhammad" matches everyone called Mohamed Ali."""
    match = best(wl, "Mohamed Ali")
    assert match is not None and match.similarity == 100
    assert match.listed_name == "'ALI, Muhammad"


# --- threshold and caching --------------------------------------------------------------------


def test_threshold_is_inclusive(wl: Watchlist) -> None:
    match = best(wl, "Vladimir Vladimirovich Putim")
    assert match is not None
    at = match.similarity
    assert [m.ent_num for m in wl.screen("Vladimir Vladimirovich Putim", threshold=at)] == [35096]
    assert wl.screen("Vladimir Vladimirovich Putim", threshold=min(100.0, at + 0.1)) == []


def test_default_threshold_is_90(wl: Watchlist) -> None:
    assert DEFAULT_THRESHOLD == 90
    assert wl.screen("Samir Alami") == []
    assert wl.screen("Samir Alami", threshold=80) != []  # 'ALI, Samir, below 90


@pytest.mark.parametrize("threshold", [79.9, 100.1, -1])
def test_threshold_out_of_range_is_refused(wl: Watchlist, threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        wl.screen("Hasan Nasrallah", threshold=threshold)


def test_results_are_memoised_and_the_same(wl: Watchlist) -> None:
    first = wl.screen("Banco Nacional de Cuba")
    hits = wl.cache_info()["normalised"].hits
    again = wl.screen("BANCO NACIONAL DE CUBA, S.A.")  # another raw string, same key
    assert again == first
    assert wl.cache_info()["normalised"].hits == hits + 1
    again.clear()  # callers get their own list: the cache is not touched
    assert wl.screen("Banco Nacional de Cuba") == first


def test_caches_are_bounded() -> None:
    small = Watchlist.from_csv(PACKAGED, cache_size=4)
    for i in range(20):
        small.screen(f"Nobody Number {i}")
    info = small.cache_info()
    assert info["raw"].currsize <= 4
    assert info["normalised"].currsize <= 4


def test_screening_is_thread_safe_and_deterministic(wl: Watchlist) -> None:
    queries = [q for q, *_ in MATCHES] + NOT_MATCHES
    wl.cache_clear()
    expected = {q: wl.screen(q) for q in queries}
    wl.cache_clear()
    seen: list[dict[str, list[WatchlistMatch]]] = []

    def work() -> None:
        seen.append({q: wl.screen(q) for q in queries})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [expected] * 4


# --- another file -------------------------------------------------------------------------------

SMALL = (
    '101,"EXAMPLE TRADING HOUSE, LTD.",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '"a.k.a. \'ETH GROUP\'; f.k.a. \'EXAMPLE HOLDINGS\'."\r\n'
    '102,"QUARTERMAINE, Zebulon Alaric","individual","SDNTK] [ILLICIT-DRUGS-EO14059",'
    '"Financier",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 01 Jan 1970; a.k.a. \'ZEBBY\'."\r\n'
    '103,"SEA BREEZE","vessel","IRAN",-0- ,"9HAB1","Tanker",-0- ,"12000","Panama",-0- ,-0- \r\n'
    "\x1a"
)


def write(path: Path, text: str, encoding: str = "latin-1") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_replacement_file_is_loaded_by_path(tmp_path: Path) -> None:
    wl = Watchlist.from_csv(write(tmp_path / "sdn_2025-01-31.csv", SMALL))
    assert len(wl) == 3
    assert wl.as_of == "2025-01-31"
    assert wl.source.endswith("sdn_2025-01-31.csv")
    assert wl.entry(102).programs == ("SDNTK", "ILLICIT-DRUGS-EO14059")
    assert wl.entry(103).sdn_type == "vessel"
    assert [a.kind for a in wl.entry(101).aliases] == ["a.k.a.", "f.k.a."]
    match = best(wl, "Zebulon Alaric Quartermaine")
    assert match is not None and match.ent_num == 102 and match.similarity == 100
    partial = best(wl, "Zebulon Quartermaine")
    assert partial is not None and partial.ent_num == 102 and partial.method == "partial"
    assert best(wl, "Example Trading House") is not None
    assert best(wl, "Example Holdings") is not None  # weak f.k.a., exact
    assert best(wl, "Banco Nacional de Cuba") is None  # not in this file


def test_as_of_is_given_or_taken_from_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "sdn.csv", SMALL)
    assert Watchlist.from_csv(path).as_of is None
    assert Watchlist.from_csv(path, as_of="2025-02-01").as_of == "2025-02-01"


def test_utf8_files_and_a_header_line_are_accepted(tmp_path: Path) -> None:
    header = ("ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,"
              "Vess_flag,Vess_owner,Remarks\r\n")
    text = header + SMALL.replace("QUARTERMAINE, Zebulon Alaric", "QUÂRTERMAINE, Zébulon")
    wl = Watchlist.from_csv(write(tmp_path / "sdn.csv", text, "utf-8"))
    assert wl.entry(102).name == "QUÂRTERMAINE, Zébulon"
    assert best(wl, "Zebulon Quartermaine") is not None


def test_strong_aliases_from_alt_csv(tmp_path: Path) -> None:
    sdn = write(tmp_path / "sdn.csv", SMALL)
    alt = write(tmp_path / "alt.csv",
                '102,9001,"aka","QUARTERMAINE, Zeb",-0- \r\n'
                '101,9002,"fka","EXAMPLE MERCHANTS",-0- \r\n\x1a')
    wl = Watchlist.from_csv(sdn, alt_path=alt)
    assert SdnAlias(name="QUARTERMAINE, Zeb", kind="a.k.a.", weak=False) in wl.entry(102).aliases
    match = best(wl, "Zeb Quartermain")  # fuzzy: a strong alias is screened like a name
    assert match is not None and match.ent_num == 102
    assert match.via_alias and not match.weak_alias
    assert best(wl, "Example Merchants") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('101,"ONE",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
         '102,"TWO","individual"\r\n', r"sdn\.csv line 2: expected the 12 comma-separated"),
        ('X1,"ONE",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n',
         r"line 1: ent_num 'X1' is not an integer"),
        ('101,-0- ,-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n',
         r"line 1: entry 101 has no SDN_Name"),
        ('101,"ONE",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
         '101,"ONE AGAIN",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n',
         r"line 2: entry 101 appears twice"),
        ("\x1a", r"sdn\.csv: no SDN entries found"),
        ("", r"sdn\.csv: no SDN entries found"),
    ],
    ids=["short-row", "bad-ent-num", "no-name", "duplicate", "only-eof-byte", "empty"],
)
def test_malformed_file_raises_one_clear_sentence(tmp_path: Path, text: str,
                                                  message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Watchlist.from_csv(write(tmp_path / "sdn.csv", text))
    assert str(caught.value).endswith(".")
    assert str(caught.value).count(". ") == 0  # one sentence


def test_missing_file_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the watchlist file"):
        Watchlist.from_csv(tmp_path / "nowhere.csv")


def test_list_name_is_ofac_sdn() -> None:
    assert LIST_NAME == "OFAC SDN"


# --- partial matches of one-word names (replayed ordinary traffic) ------------------------------

#: Moroccan company names the partial rule once matched: a one-word listed entity (``JOINT STOCK
#: COMPANY RIF`` -> ``rif``, ``ARGON OOO`` -> ``argon``) inside a longer query, by a three-letter
#: token or inexactly (the fold ``argan`` = ``argon``), the query's other word being generic.
ONE_WORD_FALSE_POSITIVES = ["Rif Services SARL", "Rif Transport SARL", "Rif Industries SARL",
                            "Argan Industries SARL", "Argan Transport SA"]


@pytest.mark.parametrize("query", ONE_WORD_FALSE_POSITIVES)
def test_one_word_listed_entities_do_not_match_longer_names(wl: Watchlist, query: str) -> None:
    assert wl.screen(query, threshold=80) == [], wl.screen(query, threshold=80)[:1]


def test_one_word_listed_entities_still_match_their_own_name(wl: Watchlist) -> None:
    argon = best(wl, "Argon")  # ARGON OOO, exactly
    assert argon is not None and argon.ent_num == 40865 and argon.method == "full"
    assert best(wl, "Argon OOO") == argon
    assert best(wl, "Argan") is None  # one vowel off in a five-letter name: not enough


SMALL_ENTITIES = (
    '201,"ROSNEFT OIL COMPANY",-0- ,"RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    '202,"JOINT STOCK COMPANY KESTREL",-0- ,"RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '-0- \r\n'
    '203,"ARGON OOO",-0- ,"RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    '204,"FALCONRIDGE HOLDINGS",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    '205,"RIF",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
)


@pytest.mark.parametrize(
    ("query", "ent_num"),
    [
        ("Rosneft", 201),  # the listed name larger, only a generic word left over
        ("Rosneft Oil", 201),
        ("Kestrel", 202),
        ("Kestrel SARL", 202),  # legal forms dropped: the same one word
        ("Falconridge", 204),
        ("Argon", 203),
    ],
)
def test_partial_entity_matches_that_stay(tmp_path: Path, query: str, ent_num: int) -> None:
    small = Watchlist.from_csv(write(tmp_path / "sdn.csv", SMALL_ENTITIES))
    match = best(small, query)
    assert match is not None and match.ent_num == ent_num


@pytest.mark.parametrize(
    "query",
    [
        "Kestrel Services",  # a one-word listed name inside a longer query
        "Kestrel Trading Group",
        "Argan Industries",  # ... and inexact (same fold)
        "Argon Industries",  # ... even exact
        "Falconrige",  # the smaller side one word, one edit off: not a partial match
        "Falcanridge",  # ... or the same fold
        "Rif Services",  # a three-letter listed name
        "Rif",  # not screened at all
    ],
)
def test_partial_entity_matches_that_go(tmp_path: Path, query: str) -> None:
    small = Watchlist.from_csv(write(tmp_path / "sdn.csv", SMALL_ENTITIES))
    assert small.screen(query, threshold=80) == []


def test_a_one_word_misspelling_still_matches_in_full(tmp_path: Path) -> None:
    small = Watchlist.from_csv(write(tmp_path / "sdn.csv", SMALL_ENTITIES))
    match = best(small, "Falconrige Holdings")  # the full comparison forgives a typo
    assert match is not None and match.ent_num == 204 and match.method == "full"


# --- countries (secondary identifiers) ----------------------------------------------------------

ADD_PACKAGED = PACKAGED.with_name("ofac_add_2023-01.csv")


def test_packaged_address_file_is_the_unchanged_ofac_download() -> None:
    data = ADD_PACKAGED.read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "30af8d7b7c316d4d3d2aeb99b90ef2a3"
        "3258f043cd80a338f028ed936bf791fe")
    assert data.startswith(b"ID,Col_B,Address,City,Country,\r\n")  # a re-publisher's header
    assert data.endswith(b"\r\n\x1a,,,,,")


def test_default_loads_the_packaged_addresses(wl: Watchlist) -> None:
    assert wl.add_source == "detectors/data/ofac_add_2023-01.csv"
    persons = [e for e in wl.entries if e.sdn_type == "individual"]
    entities = [e for e in wl.entries if e.sdn_type == "entity"]
    assert sum(bool(e.countries) for e in persons) == 6559
    assert sum(bool(e.countries) for e in entities) == 6680
    assert all(e.countries == tuple(sorted(set(e.countries))) for e in wl.entries)
    assert all(len(c) == 2 and c.isupper() for e in wl.entries for c in e.countries)


@pytest.mark.parametrize(
    ("ent_num", "countries"),
    [
        (306, ("CH", "CU", "ES", "JP", "PA")),  # branches' addresses, and the CUBA program
        (21963, ("SY",)),  # SA'ID, Sa'id: "nationality Syria"
        (34278, ("BR", "EG", "LB")),  # AL-KHATIB, Ahmad: addresses, nationality, alt. nationality
        (2683, ("IL",)),  # JABRIL, Ahmad: "POB Ramleh, Israel" only
        (2676, ("EG",)),  # AL ZAWAHIRI: "POB Giza, Egypt; Passport 1084010 (Egypt)"
        (6365, ("SA", "YE")),  # BIN LADIN: "POB Jeddah, Saudi Arabia; alt. POB Yemen"
        (40865, ("RU",)),  # ARGON OOO: "Tax ID No. 6454074501 (Russia)"
        (35096, ("RU",)),  # PUTIN
        (2686, ("LB", "SY")),  # NASRALLAH: Lebanon, and the SYRIA program
        (4697, ()),  # HIZBALLAH: no address, nothing in Remarks, a program adds nothing alone
    ],
)
def test_entry_countries(wl: Watchlist, ent_num: int, countries: tuple[str, ...]) -> None:
    assert wl.entry(ent_num).countries == countries


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("Korea, North", ("KP",)), ("Korea, South", ("KR",)), ("Iran", ("IR",)),
        ("Syria", ("SY",)), ("Russia", ("RU",)), ("Burma", ("MM",)),
        ("Congo, Democratic Republic of the", ("CD",)), ("Congo, Republic of the", ("CG",)),
        ("Cote d Ivoire", ("CI",)), ("Bahamas, The", ("BS",)), ("The Gambia", ("GM",)),
        ("Turkey", ("TR",)), ("Palestinian", ("PS",)), ("Region: Gaza", ("PS",)),
        ("Region: Crimea", ("RU", "UA")), ("Netherlands Antilles", ("BQ", "CW", "SX")),
        ("Virgin Islands, British", ("VG",)), ("Man, Isle of", ("IM",)),
        ("United Kingdom", ("GB",)), ("morocco", ("MA",)), ("  Hong   Kong ", ("HK",)),
        ("undetermined", ()), ("Kosovo", ()), ("Region: Commonwealth of Independent States", ()),
        ("-0-", ()), ("", ()), ("MA", ()), ("Havana", ()),
    ],
)
def test_country_codes_read_ofac_spellings(name: str, codes: tuple[str, ...]) -> None:
    assert country_codes(name) == codes


REMARKED = (
    '301,"HADDAD, Zebulon",individual,"SYRIA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '"DOB 1960; nationality Syria; alt. nationality Lebanon; citizen Iran; '
    'POB Pyongyang, Korea, North; Passport X123 (Egypt) issued 2010; '
    'nationality possibly Palestinian; Gender Male."\r\n'
    '302,"QUILLFEATHER, Ambrose",individual,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '"DOB 1970; nationality Morocco; nationality Nig"\r\n'
    '303,"NOWHERE TRADING",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    '304,"ELSEWHERE TRADING",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
)


def test_countries_from_remarks(tmp_path: Path) -> None:
    small = Watchlist.from_csv(write(tmp_path / "sdn.csv", REMARKED))
    assert small.add_source is None
    assert small.entry(301).countries == ("EG", "IR", "KP", "LB", "SY")
    assert small.entry(302).countries == ("MA",)  # "nationality Nig": cut off, not read
    assert small.entry(303).countries == ()  # a program alone makes no country known


def test_countries_from_an_address_file(tmp_path: Path) -> None:
    sdn = write(tmp_path / "sdn.csv", REMARKED)
    add = write(tmp_path / "add.csv",
                '301,1,-0- ,Damascus,Syria,-0- \r\n'
                '304,2,"1 Calle Ocho",Panama City,Panama,-0- \r\n'
                '304,3,-0- ,-0- ,undetermined,-0- \r\n'
                '999,4,-0- ,Havana,Cuba,-0- \r\n'  # not in the SDN file: ignored
                '302,5,-0- ,-0- ,-0- ,-0- \r\n\x1a,,,,,')
    small = Watchlist.from_csv(sdn, add_path=add)
    assert small.add_source == str(add)
    assert small.entry(301).countries == ("EG", "IR", "KP", "LB", "SY")
    assert small.entry(304).countries == ("CU", "PA")  # Panama, and its CUBA program's
    assert small.entry(303).countries == ()
    assert small.entry(302).countries == ("MA",)  # an address with no country adds none
    header = write(tmp_path / "add_header.csv",
                   "ent_num,Add_num,Address,City,Country,Add_remarks\r\n"
                   "303,1,-0- ,Havana,Cuba,-0- \r\n")
    assert Watchlist.from_csv(sdn, add_path=header).entry(303).countries == ("CU",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("301,1,-0- ,Damascus,Syria\r\n", r"add\.csv line 1: expected the 6 comma-separated"),
        ("X1,1,-0- ,Damascus,Syria,-0- \r\n", r"add\.csv line 1: ent_num 'X1' is not an"),
    ],
    ids=["short-row", "bad-ent-num"],
)
def test_malformed_address_file_raises(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Watchlist.from_csv(write(tmp_path / "sdn.csv", REMARKED),
                           add_path=write(tmp_path / "add.csv", text))
