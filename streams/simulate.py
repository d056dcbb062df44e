"""Synthetic traffic for the three input topics, with injected typologies and their labels.

What is simulated
    One reporting institution in Morocco (currency MAD) and its accounts over ``days`` days.
    Every account gets an ``opened`` KYC event (customer, hashed identity document, E.164 phone,
    e-mail, address, declared income) and a few ``login`` events. Individuals (about 85 %) are
    paid a monthly salary by an employer at another bank, pay rent around the 1st and a utility
    bill, pay by card several times a week at real merchant category codes, withdraw cash at
    ATMs, now and then deposit a little cash and send money to other simulated accounts (so some
    counterparties are population accounts, sometimes reported by both sides). Businesses deposit
    their shop takings in cash most working days and pay suppliers by transfer.

What is injected, and why
    ``structuring`` (labelled): 3 to 6 approved cash deposits of 80,000 to 99,999.99 MAD, just
    under Morocco's 100,000 MAD reporting threshold, within at most 6 days, at branches in
    several cities, on top of the account's ordinary traffic. Hard negatives (not labelled,
    listed in ``hard_negatives``), about as many accounts as the structurers, are what a naive
    rule confuses with structuring: a single near-threshold deposit, two of them in a week,
    three spread over more than the 7-day window, and businesses depositing 100,000 to 250,000
    MAD in cash openly (reported, so nothing is evaded). Ordinary traffic never comes near the
    threshold (cash deposits stay at or below 40,000 MAD), so the labels are the ground truth of
    the structuring rule. OSINT indicators use phone ranges, e-mail domains and IP ranges that
    no simulated customer uses, so they never create unlabelled matches.

    With ``invalid_messages`` the stream also carries deliberately broken messages (non-JSON,
    non-UTF-8, schema violations, a key that differs from ``account_id``) to exercise the
    dead-letter path; they never touch the labels.

Determinism
    Everything is drawn from ``random.Random`` instances seeded from ``config.seed`` (never the
    global generator or the clock), so one configuration always gives byte-identical messages.
    The valid traffic does not depend on ``invalid_messages``. Event ids are numbered in event
    time order (``tx-<seed>-<n>``, ``ae-<seed>-<n>``, ``ind-<seed>-<n>``).
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import math
import random
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "HARD_NEGATIVE_KINDS",
    "Simulation",
    "SimulatedMessage",
    "SimulationConfig",
    "produce",
    "simulate",
    "write_files",
]

TOPIC_TRANSACTIONS = "transactions"
TOPIC_ACCOUNTS = "accounts"
TOPIC_INDICATORS = "osint.indicators"

CURRENCY = "MAD"
COUNTRY = "MA"
#: Code of the simulated reporting institution (also the `bank` of in-house counterparties).
INSTITUTION = "TXB-MA"

# Amounts are handled as integer centimes to stay exact.
_THRESHOLD = 100_000_00
_NEAR_FLOOR = 80_000_00
_DAY = 86_400
_HOUR = 3_600

STRUCTURING = "structuring"
SINGLE_NEAR = "single_near_threshold_deposit"
TWO_NEAR = "two_near_deposits"
SPREAD_NEAR = "near_deposits_spread_beyond_window"
BUSINESS_OPEN = "business_large_cash_openly"
#: Hard-negative kinds, in the order they are handed out.
HARD_NEGATIVE_KINDS: tuple[str, ...] = (SINGLE_NEAR, BUSINESS_OPEN, SPREAD_NEAR, TWO_NEAR)
_ORDINARY = "ordinary"

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationConfig:
    accounts: int = 1000  # total ordinary + injected accounts
    days: int = 30
    seed: int = 7
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    structuring_share: float = 0.02  # share of accounts injected with structuring
    invalid_messages: int = 0  # deliberately invalid raw messages to add (DLQ demos and tests)

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ValueError("accounts must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0.0 <= self.structuring_share <= 1.0:
            raise ValueError("structuring_share must be between 0 and 1")
        if self.invalid_messages < 0:
            raise ValueError("invalid_messages must not be negative")
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("start must be timezone-aware (e.g. tzinfo=UTC)")


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    topic: str  # "transactions" | "accounts" | "osint.indicators" (logical names)
    key: bytes | None
    value: bytes  # the exact bytes (invalid ones may be non-JSON, bad schema or wrong key)
    occurred_at: datetime  # event time, for ordering


@dataclass
class Simulation:
    messages: list[SimulatedMessage]  # sorted by (occurred_at, generation order)
    labels: dict[str, list[str]]  # account_id -> sorted typology codes (labelled accounts only)
    hard_negatives: dict[str, str]  # account_id -> kind of hard negative injected (not labelled)


def simulate(config: SimulationConfig) -> Simulation:
    """Generate the traffic of `config` (deterministic: same config, same bytes)."""
    start = config.start.astimezone(UTC).replace(microsecond=0)
    master = random.Random(config.seed)
    # Fixed order of draws from the master generator, so that each part is independent of the
    # sizes of the others (e.g. the valid traffic does not depend on `invalid_messages`).
    roles = _assign_roles(config, master)
    pool_seed = master.getrandbits(64)
    account_seeds = [master.getrandbits(64) for _ in range(config.accounts)]
    indicator_seed = master.getrandbits(64)
    invalid_seed = master.getrandbits(64)

    pools = _Pools(random.Random(pool_seed))
    cal = _Calendar(start, config.days)
    accounts = _make_accounts(roles, account_seeds, pools)
    out = _Emitter()
    for acct in accounts:
        _opened(out, acct, start)
        _logins(out, acct, config.days)
        if acct.business:
            _business_traffic(out, acct, cal, pools)
        else:
            _individual_traffic(out, acct, accounts, cal, pools)
        _inject(out, acct, cal)
    _indicators(out, random.Random(indicator_seed), start, config.days)
    if config.invalid_messages:
        _invalid(out, random.Random(invalid_seed), accounts, config)

    messages = out.render(start, config.seed)
    labels = {a.account_id: [STRUCTURING] for a in accounts if a.role == STRUCTURING}
    hard = {a.account_id: a.role for a in accounts if a.role in HARD_NEGATIVE_KINDS}
    return Simulation(
        messages=messages,
        labels=dict(sorted(labels.items())),
        hard_negatives=dict(sorted(hard.items())),
    )


_FILES = {
    TOPIC_TRANSACTIONS: ("transactions", "transactions.jsonl"),
    TOPIC_ACCOUNTS: ("accounts", "accounts.jsonl"),
    TOPIC_INDICATORS: ("indicators", "indicators.jsonl"),
}


def write_files(sim: Simulation, out_dir: Path) -> dict[str, Path]:
    """Write one JSONL file per topic and `labels.json`; return their paths by short name.

    Each line is one message value exactly as produced, invalid ones included (replay counts
    them). A message whose only defect is its key cannot be represented in a file and is skipped.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    buffers: dict[str, bytearray] = {topic: bytearray() for topic in _FILES}
    for msg in sim.messages:
        if msg.topic not in buffers or _key_mismatch(msg):
            continue
        buf = buffers[msg.topic]
        buf += msg.value
        buf += b"\n"
    paths: dict[str, Path] = {}
    for topic, (name, filename) in _FILES.items():
        path = out_dir / filename
        path.write_bytes(bytes(buffers[topic]))
        paths[name] = path
    labels = out_dir / "labels.json"
    labels.write_bytes(
        orjson.dumps(sim.labels, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    paths["labels"] = labels
    return paths


async def produce(
    sim: Simulation,
    bootstrap: str,
    topics: Mapping[str, str],
    *,
    rate: float | None = None,
    security: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Produce every message, in order, to `topics[msg.topic]`; return how many were sent.

    `rate` paces to about that many messages per second; `progress(n)` is called with the number
    sent so far (a few times a second and once at the end). Delivery errors are raised.
    """
    missing = sorted({m.topic for m in sim.messages} - set(topics))
    if missing:
        raise ValueError(f"no topic name given for {missing}")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped, unused-ignore]

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=False, **(security or {})
    )
    await producer.start()
    loop = asyncio.get_running_loop()
    sent = 0
    pending: list[asyncio.Future[Any]] = []
    try:
        began = last_report = loop.time()
        for msg in sim.messages:
            if rate is not None:
                delay = began + sent / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            pending.append(await producer.send(topics[msg.topic], msg.value, key=msg.key))
            sent += 1
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
            if progress is not None and loop.time() - last_report >= 0.2:
                progress(sent)
                last_report = loop.time()
        await producer.flush()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    if progress is not None:
        progress(sent)
    return sent


def _key_mismatch(msg: SimulatedMessage) -> bool:
    """Whether `msg` is a JSON object whose key differs from its contract key field."""
    field = "value" if msg.topic == TOPIC_INDICATORS else "account_id"
    try:
        obj = orjson.loads(msg.value)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(obj, dict) or not isinstance(obj.get(field), str):
        return False
    if msg.key is None:
        return True
    return bool(msg.key.decode("utf-8", "replace").strip() != obj[field].strip())


# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------


def _cumulative(weights: Sequence[int]) -> tuple[int, ...]:
    total = 0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


# fmt: off
# city, postal code, weight (roughly by population)
_CITIES: tuple[tuple[str, str, int], ...] = (
    ("Casablanca", "20000", 30), ("Rabat", "10000", 12), ("Fez", "30000", 10),
    ("Marrakesh", "40000", 10), ("Tangier", "90000", 10), ("Agadir", "80000", 7),
    ("Meknes", "50000", 7), ("Oujda", "60000", 6), ("Kenitra", "14000", 5),
    ("Tetouan", "93000", 4),
)
_UTILITIES = {
    "Casablanca": "Lydec", "Rabat": "Redal", "Tangier": "Amendis", "Tetouan": "Amendis",
    "Fez": "RADEEF", "Marrakesh": "RADEEMA", "Meknes": "RADEM", "Agadir": "RAMSA",
    "Oujda": "RADEEO", "Kenitra": "RAK",
}
_FIRST_MALE = (
    "Mohammed", "Ahmed", "Youssef", "Omar", "Hamza", "Karim", "Rachid", "Hicham", "Said",
    "Mehdi", "Amine", "Anas", "Othmane", "Ayoub", "Ilyas", "Abdelaziz", "Mustapha", "Khalid",
    "Nabil", "Adil", "Driss", "Jamal", "Reda", "Soufiane", "Yassine", "Badr", "Tarik", "Zakaria",
)
_FIRST_FEMALE = (
    "Fatima", "Khadija", "Aicha", "Salma", "Meryem", "Imane", "Nadia", "Zineb", "Samira",
    "Soukaina", "Hajar", "Laila", "Houda", "Asmae", "Sanaa", "Hanane", "Loubna", "Ghizlane",
    "Rajae", "Najat", "Yasmine", "Kawtar", "Nisrine", "Hind", "Siham", "Wafae", "Ikram", "Malika",
)
_LAST = (
    "El Amrani", "Benali", "Alaoui", "Bennani", "Tazi", "Berrada", "El Idrissi", "Chraibi",
    "Ouazzani", "Lahlou", "El Fassi", "Benjelloun", "El Mansouri", "Ait Lahcen", "Bouzidi",
    "Zeroual", "Kettani", "Sqalli", "Haddad", "El Ouardi", "Naciri", "Saidi", "Belhaj", "Rami",
    "Cherkaoui", "Lamrani", "Bensouda", "El Khatib", "Ait Ouahmane", "Bakkali", "Tahiri",
    "Filali", "Hajji", "Mernissi", "Skalli", "Zniber", "Amrani", "Ouchen", "Boukhari", "Jabri",
)
_STREETS = (
    "Boulevard Mohammed V", "Avenue Hassan II", "Rue Ibn Battouta", "Avenue des FAR",
    "Boulevard Zerktouni", "Rue Allal Ben Abdellah", "Avenue Mohammed VI", "Rue de Fès",
    "Boulevard Abdelmoumen", "Rue Ibn Sina", "Avenue Moulay Youssef", "Rue Oued Sebou",
    "Boulevard Anfa", "Rue Al Massira", "Avenue Al Qods", "Derb Sidi Bouloukat",
)
_EMAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.fr", "hotmail.com",
                  "outlook.com", "menara.ma")
_CIN_PREFIXES = ("A", "AB", "B", "BE", "BH", "BK", "C", "CD", "D", "EE", "G", "J", "JA", "K",
                 "L", "M", "N", "SH", "T", "U", "X", "Z")
_BANKS = ("Attijariwafa bank", "Banque Populaire", "Bank of Africa", "CIH Bank",
          "Societe Generale Maroc", "Credit Agricole du Maroc", "BMCI", "Al Barid Bank",
          "CFG Bank", "Credit du Maroc")
_CARD_BINS = ("457031", "535627", "402360")
# business activity, name prefix
_BUSINESS_KINDS: tuple[tuple[str, str], ...] = (
    ("grocery retail (MCC 5411)", "Epicerie"), ("restaurant (MCC 5812)", "Restaurant"),
    ("cafe and snack bar (MCC 5814)", "Cafe"), ("pharmacy (MCC 5912)", "Pharmacie"),
    ("hardware store (MCC 5251)", "Droguerie"), ("clothing retail (MCC 5651)", "Boutique"),
    ("bakery (MCC 5462)", "Boulangerie"), ("mobile phone shop (MCC 5732)", "GSM"),
    ("car parts (MCC 5533)", "Pieces Auto"), ("butcher (MCC 5422)", "Boucherie"),
    ("building materials wholesale (NACE 46.73)", "Materiaux"),
    ("textile wholesale (NACE 46.41)", "Textile"),
)
_BUSINESS_WORDS = ("Al Baraka", "Atlas", "Al Amal", "Nour", "Assalam", "Al Fath", "Chifa",
                   "Anwar", "Al Wafa", "Yasmine", "Zitoune", "Salam", "Al Andalous", "Badr",
                   "Rif", "Sahara", "Ennasr", "Al Majd", "Tafilalet", "Souss")
_COMPANY_WORDS = ("Atlas", "Maghreb", "Sahara", "Rif", "Souss", "Oasis", "Medina", "Argan",
                  "Cedre", "Ocean", "Horizon", "Nour", "Zellige", "Kasbah")
_COMPANY_TRADES = ("Logistique", "Textile", "Distribution", "Agro", "BTP", "Services",
                   "Informatique", "Industries", "Transport", "Conseil", "Telecom", "Sante")
_COMPANY_FORMS = ("SARL", "SA", "SARL AU")
# mcc, weight, min MAD, max MAD, brand names (one merchant per brand and city)
_MCCS: tuple[tuple[str, int, int, int, tuple[str, ...]], ...] = (
    ("5411", 30, 25, 1200, ("Marjane", "Carrefour Market", "BIM", "Label'Vie", "Acima",
                            "Epicerie du Quartier")),
    ("5812", 9, 80, 650, ("Restaurant Dar Tajine", "La Sqala", "Cafe de la Paix",
                          "Restaurant Al Fassia")),
    ("5814", 12, 25, 220, ("McDonald's", "KFC", "Tacos de Lyon", "Snack Chamal", "Pizza Hut")),
    ("5541", 10, 150, 800, ("Afriquia", "Shell", "TotalEnergies", "Petrom", "Winxo")),
    ("5912", 6, 25, 600, ("Pharmacie Al Amal", "Pharmacie Centrale", "Pharmacie Ibn Sina")),
    ("4111", 10, 6, 60, ("Alsa", "Tramway", "Busway")),
    ("5311", 6, 100, 2500, ("Aswak Assalam", "Marjane Mall", "LC Waikiki", "Decathlon")),
    ("5732", 2, 400, 9000, ("Electroplanet", "Biougnach", "Virgin Megastore")),
    ("5999", 8, 20, 700, ("Librairie Papeterie", "Kiosque", "Souk Artisanal", "Bazar")),
    ("4814", 7, 20, 300, ("Maroc Telecom", "Orange Maroc", "inwi")),
)
# national e-commerce merchants: mcc, name
_ECOMMERCE = (("5999", "Jumia Maroc"), ("5814", "Glovo"), ("4814", "Maroc Telecom en ligne"),
              ("4814", "inwi en ligne"), ("5311", "Marjane en ligne"), ("5732", "Electroplanet.ma"))
_ATM_AMOUNTS = (200, 200, 300, 300, 400, 500, 500, 500, 600, 800, 1000, 1000, 1000, 1200, 1500,
                2000, 2000, 2500, 3000)
_P2P_AMOUNTS = (100, 150, 200, 200, 300, 500, 500, 500, 700, 1000, 1000, 1500, 2000, 3000, 5000)
# fmt: on
_CITY_NAMES = tuple(c[0] for c in _CITIES)
_CITY_POSTAL = {c[0]: c[1] for c in _CITIES}
_CITY_CUM_WEIGHTS = _cumulative([c[2] for c in _CITIES])
_MCC_CUM_WEIGHTS = _cumulative([m[1] for m in _MCCS])


def _city(rng: random.Random) -> str:
    return rng.choices(_CITY_NAMES, cum_weights=_CITY_CUM_WEIGHTS)[0]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _amount(cents: int, rng: random.Random) -> str | int | float:
    """A decimal string ("95000.00"), now and then a JSON number (both valid per contract)."""
    if rng.random() < 0.1:
        return cents // 100 if cents % 100 == 0 else cents / 100
    return _money(cents)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _near_cents(rng: random.Random) -> int:
    """An amount just under the threshold: 95,000 / 98,500 / 93,457.25 style."""
    style = rng.random()
    if style < 0.3:
        return rng.randint(85, 99) * 1000_00
    if style < 0.75:
        return rng.randint(800, 999) * 100_00
    return rng.randint(_NEAR_FLOOR, _THRESHOLD - 1)


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Party:
    account_id: str
    name: str
    bank: str


@dataclass(frozen=True, slots=True)
class _MerchantRef:
    merchant_id: str
    name: str
    mcc: str
    city: str | None


class _Pools:
    """Employers, suppliers and merchants shared by the population."""

    def __init__(self, rng: random.Random) -> None:
        self.employers = [
            _Party(f"EMP-{n:04d}", self._company(rng), rng.choice(_BANKS)) for n in range(1, 81)
        ]
        self.suppliers = [
            _Party(f"SUP-{n:04d}", self._company(rng), rng.choice(_BANKS)) for n in range(1, 61)
        ]
        self.merchants: dict[tuple[str, str], list[_MerchantRef]] = {}
        for c_index, city in enumerate(_CITY_NAMES):
            for mcc, _w, _lo, _hi, brands in _MCCS:
                self.merchants[(city, mcc)] = [
                    _MerchantRef(
                        f"MER-{c_index:02d}{mcc}{b_index:02d}", f"{brand} {city}", mcc, city
                    )
                    for b_index, brand in enumerate(brands)
                ]
        self.online = [
            _MerchantRef(f"MER-WEB{n:03d}", name, mcc, None)
            for n, (mcc, name) in enumerate(_ECOMMERCE)
        ]

    @staticmethod
    def _company(rng: random.Random) -> str:
        return (
            f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_TRADES)} "
            f"{rng.choice(_COMPANY_FORMS)}"
        )


@dataclass(slots=True)
class _Account:
    index: int
    account_id: str
    role: str
    rng: random.Random
    business: bool
    name: str
    city: str
    customer: dict[str, Any]
    income_cents: int
    devices: tuple[str, ...]
    ips: tuple[str, ...]
    card_id: str
    card_bin: str


def _assign_roles(config: SimulationConfig, master: random.Random) -> list[str]:
    n = config.accounts
    order = list(range(n))
    master.shuffle(order)
    n_struct = round(n * config.structuring_share)
    if config.structuring_share > 0 and n_struct == 0 and n >= 2:
        n_struct = 1
    n_hard = min(n_struct, n - n_struct)
    kinds = [k for k in HARD_NEGATIVE_KINDS if k != SPREAD_NEAR or _spread_gaps(config.days)]
    roles = [_ORDINARY] * n
    for i in order[:n_struct]:
        roles[i] = STRUCTURING
    for j, i in enumerate(order[n_struct : n_struct + n_hard]):
        roles[i] = kinds[j % len(kinds)]
    return roles


def _spread_gaps(days: int) -> tuple[int, int] | None:
    """(min, max) gap in days between spread near deposits: over 7 days, two gaps must fit."""
    high = min(13, (days - 1) // 2)
    low = min(10, high)
    return (low, high) if low >= 8 else None


def _make_accounts(roles: list[str], seeds: list[int], pools: _Pools) -> list[_Account]:
    phones: set[str] = set()
    emails: set[str] = set()
    documents: set[str] = set()
    accounts = []
    for index, (role, seed) in enumerate(zip(roles, seeds, strict=True)):
        rng = random.Random(seed)
        business = rng.random() < 0.15 or role == BUSINESS_OPEN
        city = _city(rng)
        account_id = f"ACC{index + 1:06d}"
        while True:
            phone = f"+2126{rng.randrange(10**8):08d}"
            if phone not in phones:
                phones.add(phone)
                break
        if business:
            activity, prefix = rng.choice(_BUSINESS_KINDS)
            name = f"{prefix} {rng.choice(_BUSINESS_WORDS)}"
            if rng.random() < 0.4:
                name += " SARL"
            email_base, domain = f"contact@{_slug(name)}", ".ma"
            while True:
                document = f"ICE{rng.randrange(10**15):015d}"
                if document not in documents:
                    break
            income = rng.randint(60, 600) * 1000_00  # declared monthly turnover
            if role == BUSINESS_OPEN:  # a cash-heavy trade, and KYC knows it
                income = rng.randint(1_000, 4_000) * 1000_00
        else:
            activity = ""
            female = rng.random() < 0.5
            first = rng.choice(_FIRST_FEMALE if female else _FIRST_MALE)
            last = rng.choice(_LAST)
            name = f"{first} {last}"
            email_base = f"{_slug(first)}.{_slug(last)}"
            domain = "@" + rng.choice(_EMAIL_DOMAINS)
            while True:
                document = f"{rng.choice(_CIN_PREFIXES)}{rng.randrange(10**6):06d}"
                if document not in documents:
                    break
            income = int(min(60_000, max(2_800, rng.lognormvariate(math.log(7_500), 0.5))))
            income = income // 100 * 100_00
        documents.add(document)
        email = email_base + domain
        while email in emails:
            email = f"{email_base}{rng.randint(1, 9999)}{domain}"
        emails.add(email)
        address = f"{rng.randint(1, 250)} {rng.choice(_STREETS)}, {_CITY_POSTAL[city]} {city}"
        customer: dict[str, Any] = {
            "customer_id": f"CUS{index + 1:06d}",
            "type": "business" if business else "individual",
            "name": name,
            "id_document": hashlib.sha256(document.encode()).hexdigest(),
            "phone": phone,
            "email": email,
            "address": address,
            "declared_monthly_income": _money(income),
        }
        if business:
            customer["business_activity"] = activity
        n_devices = 1 if rng.random() < 0.7 else 2
        devices = tuple(f"dev-{rng.getrandbits(48):012x}" for _ in range(n_devices))
        ips = tuple(
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            if rng.random() < 0.6
            else f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            for _ in range(n_devices)
        )
        accounts.append(
            _Account(
                index=index,
                account_id=account_id,
                role=role,
                rng=rng,
                business=business,
                name=name,
                city=city,
                customer=customer,
                income_cents=income,
                devices=devices,
                ips=ips,
                card_id=f"tok_{rng.getrandbits(64):016x}",
                card_bin=rng.choice(_CARD_BINS),
            )
        )
    return accounts


# --------------------------------------------------------------------------------------------
# Emission: records with event-time offsets, rendered to bytes once everything is generated
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Record:
    offset: int  # seconds after start
    seq: int  # generation order (stable tiebreak)
    topic: str
    key: bytes | None
    payload: dict[str, Any] | None  # valid messages: id and time fields filled at render time
    raw: bytes | None  # invalid messages: the exact bytes


_ID_FIELDS = {
    TOPIC_TRANSACTIONS: ("event_id", "occurred_at", "tx", 8),
    TOPIC_ACCOUNTS: ("event_id", "occurred_at", "ae", 8),
    TOPIC_INDICATORS: ("indicator_id", "observed_at", "ind", 4),
}


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Emitter:
    def __init__(self) -> None:
        self.records: list[_Record] = []

    def add(self, topic: str, key: str, offset: int, payload: dict[str, Any]) -> None:
        self.records.append(_Record(offset, len(self.records), topic, key.encode(), payload, None))

    def add_raw(self, topic: str, key: bytes | None, offset: int, raw: bytes) -> None:
        # invalid messages sort after valid ones of the same second
        self.records.append(_Record(offset, 10**9 + len(self.records), topic, key, None, raw))

    def txn(
        self,
        acct: _Account,
        offset: int,
        kind: str,
        direction: str,
        cents: int,
        *,
        channel: str | None = None,
        city: str | None = None,
        counterparty: dict[str, Any] | None = None,
        device: bool = False,
        status: str = "approved",
        extra: dict[str, Any] | None = None,
    ) -> None:
        rng = acct.rng
        payload: dict[str, Any] = {
            "event_id": "",
            "occurred_at": "",
            "account_id": acct.account_id,
            "institution": INSTITUTION,
            "kind": kind,
            "direction": direction,
            "amount": _amount(cents, rng),
            "currency": CURRENCY,
            "status": status,
        }
        if channel is not None:
            payload["channel"] = channel
        if counterparty is not None:
            payload["counterparty"] = counterparty
        if extra:
            payload.update(extra)
        if city is not None:
            payload["location"] = {"country": COUNTRY, "city": city}
        if device:
            d = rng.randrange(len(acct.devices))
            payload["device_id"] = acct.devices[d]
            payload["ip"] = acct.ips[d]
        self.add(TOPIC_TRANSACTIONS, acct.account_id, offset, payload)

    def render(self, start: datetime, seed: int) -> list[SimulatedMessage]:
        self.records.sort(key=lambda r: (r.offset, r.seq))
        counters = dict.fromkeys(_ID_FIELDS, 0)
        moments: dict[int, tuple[datetime, str]] = {}
        out: list[SimulatedMessage] = []
        for rec in self.records:
            moment = moments.get(rec.offset)
            if moment is None:
                at = start + timedelta(seconds=rec.offset)
                moment = moments[rec.offset] = (at, _rfc3339(at))
            if rec.payload is not None:
                id_field, time_field, prefix, width = _ID_FIELDS[rec.topic]
                counters[rec.topic] += 1
                rec.payload[id_field] = f"{prefix}-{seed}-{counters[rec.topic]:0{width}d}"
                rec.payload[time_field] = moment[1]
                value = orjson.dumps(rec.payload)
            else:
                value = rec.raw or b""
            out.append(SimulatedMessage(rec.topic, rec.key, value, moment[0]))
        return out


def _at(rng: random.Random, day: int, earliest: float, latest: float) -> int:
    """Seconds after start of a moment on `day` between the hours `earliest` and `latest`."""
    return day * _DAY + rng.randint(int(earliest * _HOUR), int(latest * _HOUR))


class _Calendar:
    """Maps simulated day indices to calendar dates (weekday, day of month)."""

    def __init__(self, start: datetime, days: int) -> None:
        self.days = days
        first = start.date()
        self.dates: list[date] = [first + timedelta(days=d) for d in range(days)]
        self.weekday = [d.weekday() for d in self.dates]
        self._by_date = {d: i for i, d in enumerate(self.dates)}
        self._months = list(dict.fromkeys((d.year, d.month) for d in self.dates))

    def monthly(self, day_of_month: int) -> list[int]:
        """Day indices falling on `day_of_month` (clamped to the month's length)."""
        out = []
        for year, month in self._months:
            dom = min(day_of_month, calendar.monthrange(year, month)[1])
            index = self._by_date.get(date(year, month, dom))
            if index is not None:
                out.append(index)
        return out


# --------------------------------------------------------------------------------------------
# Traffic
# --------------------------------------------------------------------------------------------


def _opened(out: _Emitter, acct: _Account, start: datetime) -> None:
    rng = acct.rng
    if rng.random() < 0.05:
        ago = rng.randint(60, 30 * _DAY)  # opened within the last month
    else:
        ago = rng.randint(31 * _DAY, 8 * 365 * _DAY)
    out.add(
        TOPIC_ACCOUNTS,
        acct.account_id,
        -ago,
        {
            "event_id": "",
            "occurred_at": "",
            "account_id": acct.account_id,
            "kind": "opened",
            "customer": acct.customer,
            "location": {"country": COUNTRY, "city": acct.city},
        },
    )


def _logins(out: _Emitter, acct: _Account, days: int) -> None:
    rng = acct.rng
    per_month = rng.uniform(4, 10) if acct.business else rng.uniform(1, 5)
    for _ in range(_poisson(rng, per_month * days / 30)):
        d = rng.randrange(len(acct.devices))
        city = acct.city if rng.random() < 0.9 else _city(rng)
        out.add(
            TOPIC_ACCOUNTS,
            acct.account_id,
            _at(rng, rng.randrange(days), 6.5, 23.5),
            {
                "event_id": "",
                "occurred_at": "",
                "account_id": acct.account_id,
                "kind": "login",
                "device_id": acct.devices[d],
                "ip": acct.ips[d],
                "location": {"country": COUNTRY, "city": city},
            },
        )


def _party(p: _Party) -> dict[str, Any]:
    return {"account_id": p.account_id, "name": p.name, "bank": p.bank, "country": COUNTRY}


def _individual_traffic(
    out: _Emitter, acct: _Account, population: list[_Account], cal: _Calendar, pools: _Pools
) -> None:
    rng = acct.rng
    days = cal.days
    months = days / 30
    home = acct.city

    # salary, paid around the end of the month by an employer at another bank
    if rng.random() < 0.8:
        employer = rng.choice(pools.employers)
        pay_day = rng.randint(25, 30)
        for day in cal.monthly(pay_day):
            cents = acct.income_cents
            if rng.random() < 0.3:  # overtime, bonus or deductions
                cents += rng.randint(-3, 3) * 100_00
            out.txn(
                acct,
                _at(rng, day, 6, 9),
                "transfer",
                "in",
                max(cents, 2_000_00),
                counterparty=_party(employer),
            )

    # rent around the 1st, utility bill mid-month
    if rng.random() < 0.65:
        landlord = _Party(
            f"LL-{acct.index + 1:06d}",
            f"{rng.choice(_FIRST_MALE + _FIRST_FEMALE)} {rng.choice(_LAST)}",
            rng.choice(_BANKS),
        )
        rent = max(1_500, min(12_000, acct.income_cents // 100 * rng.randint(20, 40) // 100))
        rent_day = rng.randint(1, 5)
        for day in cal.monthly(rent_day):
            out.txn(
                acct,
                _at(rng, day, 8, 21),
                "transfer",
                "out",
                rent // 100 * 100_00,
                channel=rng.choice(("online", "mobile")),
                counterparty=_party(landlord),
                device=True,
            )
    utility = _UTILITIES.get(home, "ONEE")
    utility_party = _Party(f"UTIL-{_slug(utility).upper()}", utility, rng.choice(_BANKS))
    for day in cal.monthly(rng.randint(5, 15)):
        out.txn(
            acct,
            _at(rng, day, 8, 22),
            "transfer",
            "out",
            rng.randint(150_00, 900_00),
            channel=rng.choice(("online", "mobile")),
            counterparty=_party(utility_party),
            device=True,
        )

    # card payments, several a week
    for _ in range(_poisson(rng, rng.uniform(2.0, 6.0) * days / 7)):
        offset = _at(rng, rng.randrange(days), 7, 22.9)
        m = rng.choices(range(len(_MCCS)), cum_weights=_MCC_CUM_WEIGHTS)[0]
        mcc, _w, low, high, _brands = _MCCS[m]
        cents = int(rng.triangular(low, high, low + (high - low) * 0.2) * 100)
        status = "declined" if rng.random() < 0.02 else "approved"
        card = {"card_id": acct.card_id, "bin": acct.card_bin}
        if rng.random() < 0.12:
            merchant = rng.choice(pools.online)
            out.txn(
                acct,
                offset,
                "card_payment",
                "out",
                max(cents, 10_00),
                channel="ecommerce",
                status=status,
                device=True,
                extra={"card": card, "merchant": _merchant(merchant)},
            )
        else:
            city = home if rng.random() < 0.85 else _city(rng)
            merchant = rng.choice(pools.merchants[(city, mcc)])
            out.txn(
                acct,
                offset,
                "card_payment",
                "out",
                max(cents, 5_00),
                channel="pos",
                city=city,
                status=status,
                extra={"card": card, "merchant": _merchant(merchant)},
            )

    # ATM withdrawals in round hundreds
    for _ in range(_poisson(rng, rng.uniform(1.0, 4.0) * months)):
        city = home if rng.random() < 0.9 else _city(rng)
        out.txn(
            acct,
            _at(rng, rng.randrange(days), 7, 23),
            "cash_withdrawal",
            "out",
            rng.choice(_ATM_AMOUNTS) * 100,
            channel="atm",
            city=city,
        )

    # occasional small cash deposits (500 to 20,000 MAD)
    for _ in range(_poisson(rng, 0.35 * months)):
        cents = int(rng.triangular(500, 20_000, 2_000)) // 100 * 100_00
        out.txn(
            acct,
            _at(rng, rng.randrange(days), 8.5, 15.5),
            "cash_deposit",
            "in",
            max(cents, 500_00),
            channel=rng.choice(("branch", "atm")),
            city=home,
        )

    # transfers to other simulated accounts; the payee's bank reports its side half the time
    if len(population) > 1:
        for _ in range(_poisson(rng, rng.uniform(0.0, 2.0) * months)):
            payee = population[rng.randrange(len(population))]
            if payee is acct:
                continue
            offset = _at(rng, rng.randrange(days), 8, 22)
            cents = (
                rng.choice(_P2P_AMOUNTS) * 100
                if rng.random() < 0.7
                else rng.randint(100_00, 5_000_00)
            )
            out.txn(
                acct,
                offset,
                "transfer",
                "out",
                cents,
                channel=rng.choice(("online", "mobile")),
                device=True,
                counterparty={
                    "account_id": payee.account_id,
                    "name": payee.name,
                    "bank": INSTITUTION,
                    "country": COUNTRY,
                },
            )
            if rng.random() < 0.5:
                out.txn(
                    payee,
                    offset + rng.randint(5, 120),
                    "transfer",
                    "in",
                    cents,
                    counterparty={
                        "account_id": acct.account_id,
                        "name": acct.name,
                        "bank": INSTITUTION,
                        "country": COUNTRY,
                    },
                )


def _merchant(m: _MerchantRef) -> dict[str, Any]:
    return {"merchant_id": m.merchant_id, "name": m.name, "mcc": m.mcc, "country": COUNTRY}


def _business_traffic(out: _Emitter, acct: _Account, cal: _Calendar, pools: _Pools) -> None:
    rng = acct.rng
    days = cal.days
    scale = rng.uniform(4_000, 20_000)
    # shop takings deposited in cash at the branch most working days (2,000 to 40,000 MAD)
    for day in range(days):
        weekday = cal.weekday[day]
        chance = 0.8 if weekday < 5 else (0.45 if weekday == 5 else 0.0)
        if rng.random() < chance:
            mad = min(40_000.0, max(2_000.0, scale * rng.lognormvariate(0, 0.35)))
            out.txn(
                acct,
                _at(rng, day, 14, 16.5),
                "cash_deposit",
                "in",
                int(mad * 100),
                channel="branch",
                city=acct.city,
            )
    # suppliers paid by transfer
    for _ in range(_poisson(rng, rng.uniform(2.0, 6.0) * days / 30)):
        supplier = rng.choice(pools.suppliers)
        cents = rng.randint(300, 6_000) * 10_00
        channel = "online" if rng.random() < 0.7 else "branch"
        out.txn(
            acct,
            _at(rng, rng.randrange(days), 8, 19),
            "transfer",
            "out",
            cents,
            channel=channel,
            counterparty=_party(supplier),
            device=channel == "online",
            city=acct.city if channel == "branch" else None,
        )


def _branch_city(acct: _Account, rng: random.Random) -> str:
    return acct.city if rng.random() < 0.5 else _city(rng)


def _near_deposits(out: _Emitter, acct: _Account, days: list[int]) -> None:
    rng = acct.rng
    used: set[int] = set()
    for day in days:
        offset = _at(rng, day, 8.5, 15.5)
        while offset in used:
            offset += 60
        used.add(offset)
        out.txn(
            acct,
            offset,
            "cash_deposit",
            "in",
            _near_cents(rng),
            channel="branch",
            city=_branch_city(acct, rng),
        )


def _inject(out: _Emitter, acct: _Account, cal: _Calendar) -> None:
    """Add the account's typology or hard negative on top of its ordinary traffic."""
    rng = acct.rng
    days = cal.days
    role = acct.role
    if role == STRUCTURING:
        span = rng.randint(min(2, days - 1), min(6, days - 1))
        first = rng.randint(0, days - 1 - span)
        count = rng.randint(3, 6)
        # first and last deposit pin the span; the rest fall anywhere inside it (<= 6 days)
        picks = [first, first + span] + [first + rng.randint(0, span) for _ in range(count - 2)]
        _near_deposits(out, acct, sorted(picks))
    elif role == SINGLE_NEAR:
        _near_deposits(out, acct, [rng.randrange(days)])
    elif role == TWO_NEAR:
        gap = rng.randint(0, min(6, days - 1))
        first = rng.randint(0, days - 1 - gap)
        _near_deposits(out, acct, [first, first + gap])
    elif role == SPREAD_NEAR:
        gaps = _spread_gaps(days)
        if gaps is None:  # cannot happen: roles only hand this out when it fits
            raise RuntimeError("period too short for spread deposits")
        g1, g2 = rng.randint(*gaps), rng.randint(*gaps)
        first = rng.randint(0, days - 1 - g1 - g2)
        _near_deposits(out, acct, [first, first + g1, first + g1 + g2])
    elif role == BUSINESS_OPEN:
        # large cash deposited openly, at or above the threshold, several times a week
        for week_start in range(0, days, 7):
            week = list(range(week_start, min(week_start + 7, days)))
            for day in rng.sample(week, min(len(week), rng.randint(2, 4))):
                if rng.random() < 0.5:
                    cents = rng.randint(100, 250) * 1000_00
                else:
                    cents = rng.randint(_THRESHOLD, 250_000_00)
                out.txn(
                    acct,
                    _at(rng, day, 9, 15),
                    "cash_deposit",
                    "in",
                    cents,
                    channel="branch",
                    city=acct.city,
                )


def _indicators(out: _Emitter, rng: random.Random, start: datetime, days: int) -> None:
    """A handful of OSINT indicators; none matches a simulated customer (see module doc)."""
    sources = (
        "escort-ads-scraper",
        "darkweb-forum-monitor",
        "analyst:fiu-ma",
        "fraud-abuse-feed",
        "news-report",
    )
    words = ("shadow", "nightrose", "casaflash", "atlas.vip", "goldcard", "easyloan")
    domains = ("proton.me", "tutanota.com", "yandex.com")
    for n in range(rng.randint(8, 12)):
        kind = ("phone", "email", "ip")[n % 3]
        if kind == "phone":
            value = f"+2127{rng.randrange(10**8):08d}"  # customers only use +2126...
            typology = "human_trafficking" if rng.random() < 0.7 else "cybercrime"
        elif kind == "email":
            value = f"{rng.choice(words)}{rng.randint(10, 999)}@{rng.choice(domains)}"
            typology = "human_trafficking" if rng.random() < 0.5 else "cybercrime"
        else:
            net = rng.choice(("203.0.113", "198.51.100"))  # documentation ranges
            value = f"{net}.{rng.randint(1, 254)}"
            typology = "cybercrime"
        offset = rng.randint(-14 * _DAY, days * _DAY - 1)
        payload: dict[str, Any] = {
            "indicator_id": "",
            "observed_at": "",
            "type": kind,
            "value": value,
            "typology": typology,
            "source": rng.choice(sources),
            "confidence": round(rng.uniform(0.4, 0.95), 2),
        }
        if rng.random() < 0.5:
            expires = start + timedelta(seconds=offset + rng.randint(60, 180) * _DAY)
            payload["expires_at"] = _rfc3339(expires)
        out.add(TOPIC_INDICATORS, value, offset, payload)


def _invalid(
    out: _Emitter, rng: random.Random, accounts: list[_Account], config: SimulationConfig
) -> None:
    """`config.invalid_messages` broken messages, cycling through the kinds of defect."""
    start = config.start.astimezone(UTC).replace(microsecond=0)
    seed = config.seed
    for n in range(config.invalid_messages):
        acct = accounts[rng.randrange(len(accounts))]
        other = accounts[(acct.index + 1) % len(accounts)]
        offset = rng.randint(0, config.days * _DAY - 1)
        at = start + timedelta(seconds=offset)
        event_id = f"bad-{seed}-{n + 1:04d}"
        key = acct.account_id.encode()
        base: dict[str, Any] = {
            "event_id": event_id,
            "occurred_at": _rfc3339(at),
            "account_id": acct.account_id,
            "institution": INSTITUTION,
            "kind": "cash_withdrawal",
            "direction": "out",
            "amount": _money(rng.randint(2, 30) * 100_00),
            "currency": CURRENCY,
            "channel": "atm",
            "location": {"country": COUNTRY, "city": acct.city},
        }
        defect = n % 10
        topic = TOPIC_TRANSACTIONS
        if defect == 0:  # not JSON: a truncated record
            raw = orjson.dumps(base)[:-17]
        elif defect == 1:  # schema: negative amount
            raw = orjson.dumps({**base, "amount": "-" + str(base["amount"])})
        elif defect == 2:  # schema: missing currency
            raw = orjson.dumps({k: v for k, v in base.items() if k != "currency"})
        elif defect == 3:  # schema: transfer without counterparty
            raw = orjson.dumps({**base, "kind": "transfer", "channel": "online"})
        elif defect == 4:  # schema: naive timestamp
            raw = orjson.dumps({**base, "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S")})
        elif defect == 5:  # not UTF-8 (Latin-1 text)
            topic = TOPIC_ACCOUNTS
            text = (
                f'{{"event_id":"{event_id}","account_id":"{acct.account_id}",'
                '"kind":"updated","customer":{"address":"Fès, Médina"}}'
            )
            raw = text.encode("latin-1")
        elif defect == 6:  # valid transaction, but the key is another account
            raw = orjson.dumps(base)
            key = (other.account_id if other is not acct else acct.account_id + "-X").encode()
        elif defect == 7:  # schema: opened without customer
            topic = TOPIC_ACCOUNTS
            raw = orjson.dumps(
                {
                    "event_id": event_id,
                    "occurred_at": _rfc3339(at),
                    "account_id": acct.account_id,
                    "kind": "opened",
                }
            )
        elif defect == 8:  # schema: indicator confidence out of range, unknown type
            topic = TOPIC_INDICATORS
            value = f"+2127{rng.randrange(10**8):08d}"
            key = value.encode()
            raw = orjson.dumps(
                {
                    "indicator_id": event_id,
                    "observed_at": _rfc3339(at),
                    "type": "telegram",
                    "value": value,
                    "typology": "human_trafficking",
                    "source": "escort-ads-scraper",
                    "confidence": 1.7,
                }
            )
        else:  # not JSON: plain text
            topic = TOPIC_ACCOUNTS
            raw = b"login " + key + b" from 10.0.0.1"
        out.add_raw(topic, key, offset, raw)
