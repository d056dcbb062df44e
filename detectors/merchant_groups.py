"""Merchant groups: which ISO 18245 merchant category codes (MCCs) the rules treat alike.

An operator-replaceable reference list. The packaged file, ``detectors/data/mcc_groups.csv``,
is the default; an operator replaces it by giving another file of the same layout
(``MerchantGroups.from_csv(path)``), with no code change.

File layout (UTF-8 CSV)
    Comment lines start with ``#``. One comment line ``# as_of: YYYY-MM-DD`` is required: the
    date the list was last checked against its sources, shown to analysts and operators. The
    first other line is the header, naming at least the columns ``mcc`` and ``group`` (a
    ``description`` column and any others are kept out of the lookup). Each row maps either one
    code (``7011``, four digits) or an inclusive range of codes (``3501-3999``, the card
    networks' per-chain hotel codes) to a group name of lower-case letters, digits and
    underscores. A code belongs to one group only: a second row for it is an error.
Errors
    A bad file raises ``ValueError`` with one sentence naming the file, the line and what is
    wrong with it, so an operator can fix a replacement list before the worker starts.

`read_reference_csv` is the small reader the reference lists share (see also
`detectors.country_risk`). Reading files happens when the worker is built, never in `score`.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from types import MappingProxyType

__all__ = ["MerchantGroups", "ReferenceTable", "read_reference_csv", "check_as_of"]

_META = re.compile(r"^#\s*(as_of)\s*:\s*(.*?)\s*$")
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_MCC = re.compile(r"^\d{4}$")
_RANGE = re.compile(r"^(\d{4})\s*-\s*(\d{4})$")
_GROUP = re.compile(r"^[a-z][a-z0-9_]*$")

PACKAGED_FILE = "mcc_groups.csv"


@dataclass(frozen=True, slots=True)
class ReferenceTable:
    """A reference CSV as read: its ``# key: value`` comments (with line numbers), its header
    and its rows (line number, column -> stripped value)."""

    source: str
    meta: Mapping[str, tuple[int, str]]
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]

    def error(self, line: int | None, problem: str) -> ValueError:
        where = self.source if line is None else f"{self.source}, line {line}"
        return ValueError(f"{where}: {problem}.")


def read_reference_csv(text: str, source: str, *, required: Sequence[str]) -> ReferenceTable:
    """Read a reference list: comments, one header row naming `required` columns, rows.

    Raises ValueError (one sentence: file, line, problem) on a missing header column, a row
    with the wrong number of fields or a repeated ``# as_of:`` line.
    """
    meta: dict[str, tuple[int, str]] = {}
    header: tuple[str, ...] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _META.match(stripped)
            if match:
                key = match.group(1)
                if key in meta:
                    raise ValueError(f"{source}, line {number}: '# {key}:' appears a second time "
                                     f"(first on line {meta[key][0]}).")
                meta[key] = (number, match.group(2))
            continue
        fields = [value.strip() for value in next(csv.reader([line]))]
        if header is None:
            names = tuple(value.lower() for value in fields)
            missing = [name for name in required if name not in names]
            if missing:
                raise ValueError(
                    f"{source}, line {number}: the header row must name the columns "
                    f"{', '.join(required)}, but {', '.join(missing)} is missing "
                    f"(found: {', '.join(names) or 'nothing'})."
                )
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{source}, line {number}: the header row names the column "
                                 f"{', '.join(repeated)} twice.")
            header = names
            continue
        if len(fields) != len(header):
            raise ValueError(
                f"{source}, line {number}: expected {len(header)} comma-separated fields "
                f"({', '.join(header)}) but found {len(fields)}."
            )
        rows.append((number, dict(zip(header, fields, strict=True))))
    if header is None:
        raise ValueError(f"{source}: the file has no header row (it is empty or only comments).")
    return ReferenceTable(source, MappingProxyType(meta), header, tuple(rows))


def check_as_of(value: str, table: ReferenceTable, line: int | None) -> str:
    """`value` if it is a date like 2026-11-22 (or a month like 2024-10), else ValueError."""
    match = _DATE.match(value)
    valid = False
    if match:
        year, month, day = (int(part) if part else 1 for part in match.groups())
        try:
            date(year, month, day)
            valid = True
        except ValueError:
            valid = False
    if not valid:
        raise table.error(line, f"'{value}' is not a date like 2026-11-22")
    return value


def _codes(spec: str, table: ReferenceTable, line: int) -> Iterator[str]:
    if _MCC.match(spec):
        yield spec
        return
    match = _RANGE.match(spec)
    if not match:
        raise table.error(line, f"'{spec}' is not an MCC (four digits such as 7011) or a range "
                                f"of MCCs such as 3501-3999")
    low, high = int(match.group(1)), int(match.group(2))
    if low > high:
        raise table.error(line, f"the range '{spec}' runs backwards (write {high:04d}-{low:04d})")
    for code in range(low, high + 1):
        yield f"{code:04d}"


@dataclass(frozen=True)
class MerchantGroups:
    """ISO 18245 MCC -> group name, from an operator-replaceable CSV list (see the module)."""

    mapping: Mapping[str, str] = field(repr=False)
    as_of: str
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))

    @classmethod
    def from_csv(cls, path: Path | str) -> MerchantGroups:
        """Load a list from a file (UTF-8, a byte-order mark is tolerated)."""
        path = Path(path)
        return cls.from_text(path.read_text(encoding="utf-8-sig"), str(path))

    @classmethod
    def from_text(cls, text: str, source: str) -> MerchantGroups:
        """Parse the CSV text of a list; `source` names it in errors and in `.source`."""
        table = read_reference_csv(text, source, required=("mcc", "group"))
        if "as_of" not in table.meta:
            raise table.error(None, "the '# as_of: YYYY-MM-DD' comment line that dates the list "
                                    "is missing")
        as_of_line, as_of = table.meta["as_of"]
        check_as_of(as_of, table, as_of_line)
        mapping: dict[str, str] = {}
        defined_on: dict[str, int] = {}
        for line, row in table.rows:
            group = row["group"]
            if not _GROUP.match(group):
                raise table.error(line, f"the group '{group}' is not a lower-case name of "
                                        f"letters, digits and underscores")
            for code in _codes(row["mcc"], table, line):
                if code in mapping:
                    raise table.error(line, f"MCC {code} is already in group '{mapping[code]}' "
                                            f"(line {defined_on[code]})")
                mapping[code] = group
                defined_on[code] = line
        if not mapping:
            raise table.error(None, "the list has no MCC rows")
        return cls(mapping, as_of=as_of, source=source)

    @classmethod
    def default(cls) -> MerchantGroups:
        """The packaged list (``detectors/data/mcc_groups.csv``), loaded once per process."""
        return _packaged()

    def group(self, mcc: str | None) -> str | None:
        """The group of an MCC, or None when the code is unknown or missing."""
        if mcc is None:
            return None
        return self.mapping.get(mcc.strip())

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(self.mapping.values())

    def mccs(self, group: str) -> frozenset[str]:
        """Every MCC of one group (ranges expanded)."""
        return frozenset(code for code, name in self.mapping.items() if name == group)

    def __len__(self) -> int:
        return len(self.mapping)

    def __hash__(self) -> int:
        return hash((self.source, self.as_of, len(self.mapping)))

    def __repr__(self) -> str:
        return (f"MerchantGroups({len(self)} MCCs in {len(self.groups)} groups, "
                f"as_of={self.as_of!r}, source={self.source!r})")


@functools.cache
def _packaged() -> MerchantGroups:
    resource = resources.files("detectors").joinpath("data").joinpath(PACKAGED_FILE)
    return MerchantGroups.from_text(resource.read_text(encoding="utf-8"), str(resource))
