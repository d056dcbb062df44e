"""Country risk: FATF-listed jurisdictions and countries in armed conflict, by ISO 3166-1 code.

Two operator-replaceable reference lists, read when the worker is built (never in `score`):

FATF list (``detectors/data/fatf_lists_2024-10.csv``)
    FATF's public statements: "High-Risk Jurisdictions subject to a Call for Action" and
    "Jurisdictions under Increased Monitoring", as of October 2024 (FATF revises them in
    February, June and October). Columns ``list`` (``call_for_action``,
    ``increased_monitoring`` or ``removed``; removed rows are kept for the record and carry no
    risk), ``jurisdiction`` (name), ``iso2``, ``fatf_statement_date`` (YYYY-MM or YYYY-MM-DD);
    ``iso3`` and ``note`` are optional. Its date is a ``# as_of:`` comment line when there is
    one, else the latest ``fatf_statement_date``.
Conflict list (``detectors/data/conflict_countries.csv``, optional)
    Countries affected by armed conflict (World Bank FY25 FCS list, "conflict" category,
    from UCDP/ACLED data). Columns ``iso2``, ``name`` and ``source``; a ``# as_of:`` comment
    line is required.

`CountryRisk.risk` answers the most severe level a country is on: ``call_for_action`` before
``increased_monitoring`` before ``conflict``. `as_of` is the date of the oldest list used (the
one due for review first); each list's own date is kept too. A bad file raises ``ValueError``
with one sentence naming the file, the line and the problem.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from detectors.merchant_groups import ReferenceTable, check_as_of, read_reference_csv

__all__ = ["RISK_LEVELS", "CountryRisk", "RiskLevel"]

RiskLevel = Literal["call_for_action", "increased_monitoring", "conflict"]

#: Risk levels, most severe first.
RISK_LEVELS: tuple[RiskLevel, ...] = ("call_for_action", "increased_monitoring", "conflict")

#: Words a sentence uses for each level.
RISK_WORDS: dict[str, str] = {
    "call_for_action": "FATF call for action",
    "increased_monitoring": "FATF increased monitoring",
    "conflict": "armed conflict",
}

PACKAGED_FATF = "fatf_lists_2024-10.csv"
PACKAGED_CONFLICT = "conflict_countries.csv"

_ISO2 = re.compile(r"^[A-Z]{2}$")
_FATF_LISTS: dict[str, RiskLevel | None] = {
    "call_for_action": "call_for_action",
    "increased_monitoring": "increased_monitoring",
    "removed": None,
}


@dataclass(frozen=True)
class CountryRisk:
    """ISO 3166-1 alpha-2 code -> risk level, from the FATF list and a conflict list."""

    levels: Mapping[str, RiskLevel] = field(repr=False)
    names: Mapping[str, str] = field(repr=False)
    as_of: str
    sources: tuple[str, ...]
    fatf_as_of: str
    conflict_as_of: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", MappingProxyType(dict(self.levels)))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    @classmethod
    def from_csv(cls, fatf_path: Path | str, conflict_path: Path | str | None = None,
                 ) -> CountryRisk:
        """Load the FATF list and, when given, the conflict list (UTF-8 files)."""
        fatf_path = Path(fatf_path)
        conflict = None
        if conflict_path is not None:
            conflict_path = Path(conflict_path)
            conflict = (conflict_path.read_text(encoding="utf-8-sig"), str(conflict_path))
        return cls.from_text((fatf_path.read_text(encoding="utf-8-sig"), str(fatf_path)),
                             conflict)

    @classmethod
    def from_text(cls, fatf: tuple[str, str], conflict: tuple[str, str] | None = None,
                  ) -> CountryRisk:
        """Parse the lists' CSV texts, each given as (text, source)."""
        levels: dict[str, RiskLevel] = {}
        names: dict[str, str] = {}
        fatf_as_of = _read_fatf(*fatf, levels, names)
        sources = [fatf[1]]
        conflict_as_of = None
        if conflict is not None:
            conflict_as_of = _read_conflict(*conflict, levels, names)
            sources.append(conflict[1])
        as_of = min(d for d in (fatf_as_of, conflict_as_of) if d is not None)
        return cls(levels, names, as_of=as_of, sources=tuple(sources), fatf_as_of=fatf_as_of,
                   conflict_as_of=conflict_as_of)

    @classmethod
    def default(cls) -> CountryRisk:
        """The packaged FATF (October 2024) and conflict (FY25) lists, loaded once per process."""
        return _packaged()

    def risk(self, iso2: str | None) -> RiskLevel | None:
        """The most severe level the country is on, or None (unlisted, removed or missing)."""
        if iso2 is None:
            return None
        return self.levels.get(iso2.strip().upper())

    def name(self, iso2: str) -> str:
        """The country's name as the lists spell it, else the code itself."""
        return self.names.get(iso2.strip().upper(), iso2)

    def countries(self, level: RiskLevel) -> frozenset[str]:
        return frozenset(code for code, lvl in self.levels.items() if lvl == level)

    def __len__(self) -> int:
        return len(self.levels)

    def __hash__(self) -> int:
        return hash((self.sources, self.as_of, len(self.levels)))

    def __repr__(self) -> str:
        counts = ", ".join(f"{len(self.countries(level))} {level}" for level in RISK_LEVELS)
        return f"CountryRisk({counts}, as_of={self.as_of!r}, sources={self.sources!r})"


def _iso2(value: str, table: ReferenceTable, line: int) -> str:
    code = value.strip().upper()
    if not _ISO2.match(code):
        raise table.error(line, f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return code


def _add(levels: dict[str, RiskLevel], code: str, level: RiskLevel) -> None:
    current = levels.get(code)
    if current is None or RISK_LEVELS.index(level) < RISK_LEVELS.index(current):
        levels[code] = level


def _read_fatf(text: str, source: str, levels: dict[str, RiskLevel],
               names: dict[str, str]) -> str:
    table = read_reference_csv(text, source,
                               required=("list", "jurisdiction", "iso2", "fatf_statement_date"))
    seen: dict[str, int] = {}
    dates: list[str] = []
    for line, row in table.rows:
        listed = row["list"].lower()
        if listed not in _FATF_LISTS:
            raise table.error(line, f"the list '{row['list']}' is not one of "
                                    f"{', '.join(_FATF_LISTS)}")
        code = _iso2(row["iso2"], table, line)
        if code in seen:
            raise table.error(line, f"{code} is listed a second time (first on line {seen[code]})")
        seen[code] = line
        dates.append(check_as_of(row["fatf_statement_date"], table, line))
        names.setdefault(code, row["jurisdiction"] or code)
        level = _FATF_LISTS[listed]
        if level is not None:
            _add(levels, code, level)
    if "as_of" in table.meta:
        line, value = table.meta["as_of"]
        return check_as_of(value, table, line)
    if not dates:
        raise table.error(None, "the FATF list has no rows and no '# as_of:' line to date it")
    return max(dates)


def _read_conflict(text: str, source: str, levels: dict[str, RiskLevel],
                   names: dict[str, str]) -> str:
    table = read_reference_csv(text, source, required=("iso2", "name"))
    if "as_of" not in table.meta:
        raise table.error(None, "the '# as_of: YYYY-MM-DD' comment line that dates the list "
                                "is missing")
    as_of_line, as_of = table.meta["as_of"]
    check_as_of(as_of, table, as_of_line)
    seen: dict[str, int] = {}
    for line, row in table.rows:
        code = _iso2(row["iso2"], table, line)
        if code in seen:
            raise table.error(line, f"{code} is listed a second time (first on line {seen[code]})")
        seen[code] = line
        names.setdefault(code, row["name"] or code)
        _add(levels, code, "conflict")
    return as_of


@functools.cache
def _packaged() -> CountryRisk:
    data = resources.files("detectors").joinpath("data")
    fatf, conflict = data.joinpath(PACKAGED_FATF), data.joinpath(PACKAGED_CONFLICT)
    return CountryRisk.from_text((fatf.read_text(encoding="utf-8"), str(fatf)),
                                 (conflict.read_text(encoding="utf-8"), str(conflict)))
