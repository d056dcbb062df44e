"""Reference lists the rules read: merchant groups, country risk and the sanctions list.

They are data files that operators replace without a code change (FATF revises its lists three
times a year, OFAC publishes SDN changes weekly): each has a date (`as_of`) that the worker logs
at start-up and exports as a metric. The packaged defaults live in `detectors/data/`; a file
given by path replaces one. Loading reads files once, before any event is scored; `score`
never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from detectors.country_risk import CountryRisk
from detectors.merchant_groups import MerchantGroups
from detectors.watchlist import Watchlist

__all__ = ["ReferenceData", "ReferenceSource", "default_reference", "load_reference"]


@dataclass(frozen=True, slots=True)
class ReferenceSource:
    """One loaded list, as the start-up log and `txmon_reference_info` show it."""

    name: str
    as_of: str
    entries: int
    source: str


@dataclass(frozen=True, slots=True)
class ReferenceData:
    merchant_groups: MerchantGroups
    country_risk: CountryRisk
    watchlist: Watchlist

    def sources(self) -> list[ReferenceSource]:
        return [
            ReferenceSource(
                "mcc_groups",
                self.merchant_groups.as_of,
                len(self.merchant_groups),
                str(self.merchant_groups.source),
            ),
            ReferenceSource(
                "country_risk",
                self.country_risk.as_of,
                len(self.country_risk),
                ";".join(str(s) for s in self.country_risk.sources),
            ),
            ReferenceSource(
                "ofac_sdn",
                self.watchlist.as_of or "undated",
                len(self.watchlist),
                str(self.watchlist.source),
            ),
        ]


def load_reference(
    *,
    mcc_groups: Path | None = None,
    fatf_lists: Path | None = None,
    conflict_countries: Path | None = None,
    watchlist: Path | None = None,
    watchlist_addresses: Path | None = None,
) -> ReferenceData:
    """The packaged lists, each replaced by the file given for it (ValueError if unreadable)."""
    default = default_reference()
    if fatf_lists is None and conflict_countries is None:
        country_risk = default.country_risk
    else:
        packaged = Path(__file__).parent / "data"
        country_risk = CountryRisk.from_csv(
            fatf_lists or packaged / "fatf_lists_2024-10.csv",
            conflict_countries or packaged / "conflict_countries.csv",
        )
    return ReferenceData(
        merchant_groups=(
            MerchantGroups.from_csv(mcc_groups) if mcc_groups else default.merchant_groups
        ),
        country_risk=country_risk,
        watchlist=(
            Watchlist.from_csv(watchlist, add_path=watchlist_addresses)
            if watchlist
            else default.watchlist
        ),
    )


@cache
def default_reference() -> ReferenceData:
    """The packaged lists, loaded once per process."""
    return ReferenceData(
        merchant_groups=MerchantGroups.default(),
        country_risk=CountryRisk.default(),
        watchlist=Watchlist.default(),
    )
