"""The operator-replaceable reference lists: MCC groups and country risk."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from detectors.country_risk import RISK_LEVELS, CountryRisk
from detectors.merchant_groups import MerchantGroups

DATA = resources.files("detectors").joinpath("data")

#: sha256 of the shared FATF transcription (data/watchlists/fatf_lists_2024-10.csv), copied
#: unchanged into the package.
FATF_SHA256 = "a3f885bedfb877ca6511cb17133f277774018e3411c77b72c81e1812bbda0e9e"


# --- MerchantGroups: the packaged list -------------------------------------------------------


@pytest.mark.parametrize(
    ("mcc", "group"),
    [
        ("7273", "adult_services"), ("5967", "adult_services"),
        ("7311", "classified_ads"),
        ("7011", "lodging"), ("7012", "lodging"), ("3501", "lodging"), ("3750", "lodging"),
        ("3999", "lodging"),
        ("4111", "transport"), ("4112", "transport"), ("4121", "transport"),
        ("4131", "transport"), ("4411", "transport"), ("4511", "transport"),
        ("4722", "transport"), ("3000", "transport"), ("3299", "transport"),
        ("4812", "prepaid_telecom"), ("4814", "prepaid_telecom"),
        ("4829", "money_transfer"), ("6540", "stored_value"), ("6051", "quasi_cash"),
        ("5947", "gift_shops"), ("7512", "car_rental"), ("3351", "car_rental"),
        ("3441", "car_rental"),
        ("3300", None), ("3500", None), ("4000", None), ("5411", None), ("0000", None),
    ],
)
def test_packaged_merchant_groups(mcc: str, group: str | None) -> None:
    assert MerchantGroups.default().group(mcc) == group


def test_packaged_merchant_groups_metadata() -> None:
    groups = MerchantGroups.default()
    assert groups is MerchantGroups.default()  # loaded once, cached
    assert groups.as_of == "2026-11-22"
    assert groups.source.endswith("mcc_groups.csv")
    assert {"adult_services", "classified_ads", "lodging", "transport",
            "prepaid_telecom"} <= groups.groups
    assert len(groups) == len(groups.mapping) == sum(len(groups.mccs(g)) for g in groups.groups)
    assert len(groups.mccs("lodging")) == 2 + (3999 - 3501 + 1)
    assert len(groups.mccs("transport")) == 8 + (3299 - 3000 + 1)
    assert "911 MCCs" in repr(groups)


def test_packaged_merchant_groups_cite_their_sources() -> None:
    text = DATA.joinpath("mcc_groups.csv").read_text(encoding="utf-8")
    for source in ["ISO 18245", "Visa", "Mastercard", "FIN-2014-A008", "FIN-2020-A008",
                   "Financial Flows from Human Trafficking"]:
        assert source in text


@pytest.mark.parametrize(("mcc", "group"), [(None, None), (" 7011 ", "lodging"), ("", None)])
def test_group_of_missing_or_padded_codes(mcc: str | None, group: str | None) -> None:
    assert MerchantGroups.default().group(mcc) == group


# --- MerchantGroups: a replacement list ------------------------------------------------------


REPLACEMENT = """\ufeff# our own list
# as_of: 2027-01-15
mcc,group,description
7273,adult_services,Escorts
7011,lodging,"Hotels, motels"
3600-3602,lodging,Three chains
4112, transport ,Rail
"""


def test_replacement_list_by_path(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(REPLACEMENT, encoding="utf-8")
    groups = MerchantGroups.from_csv(path)
    assert groups.as_of == "2027-01-15"
    assert groups.source == str(path)
    assert len(groups) == 6
    assert groups.group("3601") == "lodging"
    assert groups.group("3603") is None
    assert groups.group("4112") == "transport"
    assert groups.group("7311") is None  # not in this list
    assert MerchantGroups.from_csv(str(path)) == groups


def test_a_list_can_be_built_in_code() -> None:
    groups = MerchantGroups({"7273": "adult_services"}, as_of="2027-01-01", source="test")
    assert groups.group("7273") == "adult_services"
    with pytest.raises(TypeError):
        groups.mapping["7011"] = "lodging"  # type: ignore[index]


BAD_GROUPS: dict[str, tuple[str, str]] = {
    "no-as-of": ("mcc,group\n7011,lodging\n", r"'# as_of: YYYY-MM-DD' comment line"),
    "as-of-not-a-date": ("# as_of: 2026-13-01\nmcc,group\n7011,lodging\n",
                         r"line 1: '2026-13-01' is not a date"),
    "as-of-twice": ("# as_of: 2026-11-01\n# as_of: 2026-11-02\nmcc,group\n7011,lodging\n",
                    r"line 2: '# as_of:' appears a second time \(first on line 1\)"),
    "missing-group-column": ("# as_of: 2026-11-01\nmcc,name\n7011,lodging\n",
                             r"line 2: the header row must name the columns mcc, group"),
    "header-column-twice": ("# as_of: 2026-11-01\nmcc,group,group\n7011,lodging,x\n",
                            r"line 2: the header row names the column group twice"),
    "three-digit-mcc": ("# as_of: 2026-11-01\nmcc,group\n701,lodging\n",
                        r"line 3: '701' is not an MCC"),
    "letters": ("# as_of: 2026-11-01\nmcc,group\nhotel,lodging\n",
                r"line 3: 'hotel' is not an MCC \(four digits"),
    "backwards-range": ("# as_of: 2026-11-01\nmcc,group\n3999-3501,lodging\n",
                        r"line 3: the range '3999-3501' runs backwards"),
    "duplicate-code": ("# as_of: 2026-11-01\nmcc,group\n7011,lodging\n\n7011,lodging\n",
                       r"line 5: MCC 7011 is already in group 'lodging' \(line 3\)"),
    "overlapping-ranges": ("# as_of: 2026-11-01\nmcc,group\n3000-3299,transport\n"
                           "3200-3300,lodging\n",
                           r"line 4: MCC 3200 is already in group 'transport' \(line 3\)"),
    "group-name-capitals": ("# as_of: 2026-11-01\nmcc,group\n7011,Lodging\n",
                            r"line 3: the group 'Lodging' is not a lower-case name"),
    "empty-group": ("# as_of: 2026-11-01\nmcc,group\n7011,\n",
                    r"line 3: the group '' is not a lower-case name"),
    "too-many-fields": ("# as_of: 2026-11-01\nmcc,group\n7011,lodging,extra\n",
                        r"line 3: expected 2 comma-separated fields \(mcc, group\) but found 3"),
    "no-rows": ("# as_of: 2026-11-01\nmcc,group\n", r"the list has no MCC rows"),
    "empty-file": ("", r"the file has no header row"),
    "only-comments": ("# as_of: 2026-11-01\n# nothing else\n", r"the file has no header row"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD_GROUPS.values()), ids=list(BAD_GROUPS))
def test_malformed_merchant_groups_file_is_rejected_with_one_clear_sentence(
        tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        MerchantGroups.from_csv(path)
    sentence = str(caught.value)
    assert sentence.startswith(str(path))
    assert sentence.endswith(".") and "\n" not in sentence


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        MerchantGroups.from_csv(tmp_path / "nowhere.csv")


# --- CountryRisk: the packaged lists ---------------------------------------------------------


@pytest.mark.parametrize(
    ("iso2", "risk"),
    [
        ("KP", "call_for_action"), ("IR", "call_for_action"),
        ("MM", "call_for_action"),  # also in conflict: the most severe level wins
        ("SY", "increased_monitoring"), ("NG", "increased_monitoring"),
        ("DZ", "increased_monitoring"), ("ML", "increased_monitoring"),
        ("SD", "conflict"), ("AF", "conflict"), ("UA", "conflict"), ("PS", "conflict"),
        ("SN", None),  # removed from the FATF list in October 2024
        ("MA", None), ("FR", None),
        ("sy", "increased_monitoring"), (" ir ", "call_for_action"),
        (None, None), ("", None),
    ],
)
def test_packaged_country_risk(iso2: str | None, risk: str | None) -> None:
    assert CountryRisk.default().risk(iso2) == risk


def test_packaged_country_risk_metadata() -> None:
    risk = CountryRisk.default()
    assert risk is CountryRisk.default()
    assert risk.fatf_as_of == "2024-10"
    assert risk.conflict_as_of == "2024-07-01"
    assert risk.as_of == "2024-07-01"  # the oldest list, due for review first
    assert [Path(s).name for s in risk.sources] == ["fatf_lists_2024-10.csv",
                                                    "conflict_countries.csv"]
    assert len(risk.countries("call_for_action")) == 3
    assert len(risk.countries("increased_monitoring")) == 24
    assert len(risk) == sum(len(risk.countries(level)) for level in RISK_LEVELS)
    assert risk.name("SY") == "Syria"
    assert risk.name("SD") == "Sudan"
    assert risk.name("XX") == "XX"


def test_packaged_fatf_list_is_the_shared_transcription_unchanged() -> None:
    data = DATA.joinpath("fatf_lists_2024-10.csv").read_bytes()
    assert data.startswith(b"list,jurisdiction,iso2,iso3,fatf_statement_date,note\n")
    assert data.count(b"\n") == 29  # header, 27 listed, 1 removed
    assert hashlib.sha256(data).hexdigest() == FATF_SHA256


def test_packaged_conflict_list_cites_its_source_and_date() -> None:
    text = DATA.joinpath("conflict_countries.csv").read_text(encoding="utf-8")
    assert "# as_of: 2024-07-01" in text
    assert "World Bank" in text and "FY25" in text and "UCDP" in text


# --- CountryRisk: replacement lists ----------------------------------------------------------


FATF = """list,jurisdiction,iso2,iso3,fatf_statement_date,note
call_for_action,Iran,IR,IRN,2025-02,
increased_monitoring,Syria,SY,SYR,2025-02,
increased_monitoring,Laos,la,LAO,2025-02-21,added
removed,Senegal,SN,SEN,2024-10,
"""

CONFLICT = """# as_of: 2025-07-01
iso2,name,source
SY,Syria,World Bank FCS FY26
LY,Libya,UCDP 2024
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_replacement_fatf_list_alone(tmp_path: Path) -> None:
    risk = CountryRisk.from_csv(_write(tmp_path, "fatf.csv", FATF))
    assert risk.risk("LA") == "increased_monitoring"
    assert risk.risk("SD") is None  # no conflict list given
    assert risk.risk("SN") is None
    assert risk.fatf_as_of == risk.as_of == "2025-02-21"  # the latest statement in the file
    assert risk.conflict_as_of is None
    assert risk.sources == (str(tmp_path / "fatf.csv"),)
    assert len(risk) == 3


def test_replacement_fatf_and_conflict_lists(tmp_path: Path) -> None:
    risk = CountryRisk.from_csv(_write(tmp_path, "fatf.csv", FATF),
                                _write(tmp_path, "conflict.csv", CONFLICT))
    assert risk.risk("LY") == "conflict"
    assert risk.risk("SY") == "increased_monitoring"
    assert risk.as_of == "2025-02-21"  # older than the conflict list's 2025-07-01
    assert risk.conflict_as_of == "2025-07-01"
    assert len(risk) == 4


def test_fatf_list_dated_by_a_comment(tmp_path: Path) -> None:
    risk = CountryRisk.from_csv(_write(tmp_path, "fatf.csv", "# as_of: 2025-03-01\n" + FATF))
    assert risk.fatf_as_of == "2025-03-01"


BAD_FATF: dict[str, tuple[str, str]] = {
    "unknown-list": ("list,jurisdiction,iso2,fatf_statement_date\ngrey,Atlantis,AT,2025-02\n",
                     r"line 2: the list 'grey' is not one of call_for_action, "
                     r"increased_monitoring, removed"),
    "iso3-in-iso2": ("list,jurisdiction,iso2,fatf_statement_date\n"
                     "increased_monitoring,Syria,SYR,2025-02\n",
                     r"line 2: 'SYR' is not an ISO 3166-1 alpha-2 country code"),
    "listed-twice": ("list,jurisdiction,iso2,fatf_statement_date\n"
                     "increased_monitoring,Syria,SY,2025-02\ncall_for_action,Syria,SY,2025-02\n",
                     r"line 3: SY is listed a second time \(first on line 2\)"),
    "bad-date": ("list,jurisdiction,iso2,fatf_statement_date\n"
                 "increased_monitoring,Syria,SY,Feb 2025\n",
                 r"line 2: 'Feb 2025' is not a date"),
    "missing-iso2-column": ("list,jurisdiction,fatf_statement_date\nx,y,2025-02\n",
                            r"line 1: the header row must name the columns"),
    "no-rows": ("list,jurisdiction,iso2,fatf_statement_date\n",
                r"the FATF list has no rows and no '# as_of:' line"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD_FATF.values()), ids=list(BAD_FATF))
def test_malformed_fatf_file_is_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "fatf.csv", text)
    with pytest.raises(ValueError, match=message) as caught:
        CountryRisk.from_csv(path)
    assert str(caught.value).startswith(str(path)) and str(caught.value).endswith(".")


BAD_CONFLICT: dict[str, tuple[str, str]] = {
    "no-as-of": ("iso2,name,source\nLY,Libya,UCDP\n", r"'# as_of: YYYY-MM-DD' comment line"),
    "bad-code": ("# as_of: 2025-07-01\niso2,name,source\nLBY,Libya,UCDP\n",
                 r"line 3: 'LBY' is not an ISO 3166-1 alpha-2"),
    "listed-twice": ("# as_of: 2025-07-01\niso2,name,source\nLY,Libya,x\nLY,Libya,y\n",
                     r"line 4: LY is listed a second time \(first on line 3\)"),
    "short-row": ("# as_of: 2025-07-01\niso2,name,source\nLY\n",
                  r"line 3: expected 3 comma-separated fields"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD_CONFLICT.values()), ids=list(BAD_CONFLICT))
def test_malformed_conflict_file_is_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "conflict.csv", text)
    with pytest.raises(ValueError, match=message) as caught:
        CountryRisk.from_csv(_write(tmp_path, "fatf.csv", FATF), path)
    assert str(caught.value).startswith(str(path))
