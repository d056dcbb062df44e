"""Synthetic traffic for the three input topics, with injected typologies and their labels.

What is simulated
    One reporting institution in Morocco (currency MAD) and its accounts over ``days`` days.
    Every account gets an ``opened`` KYC event (customer, hashed identity document, E.164 phone,
    e-mail, address, declared income) and ``login`` events from its own one or two devices in
    Morocco: a few before the period (the devices the bank already knows) and, whenever one of
    the typologies below other than structuring is injected, a few a week during it (businesses
    more), now and then a password reset from one of them. Individuals (about
    85 %) are paid a monthly salary by an employer at another bank, pay rent around the 1st and
    a utility bill by mobile or online transfer (with device and IP), pay by card several times
    a week at real merchant category codes, withdraw cash at ATMs, now and then deposit a little
    cash and send money to other simulated accounts (so some counterparties are population
    accounts, sometimes reported by both sides). Businesses deposit their shop takings in cash
    most working days and pay suppliers by transfer. Nobody in the ordinary population sends
    money abroad, logs in from a new device or another country, or pays digital-goods merchants,
    hotels, taxis or long-distance tickets; everyone has their own phone, e-mail, document and
    devices.

What is injected, and why (labelled with the typology code; an account may carry several)
    ``structuring``: 3 to 6 approved cash deposits of 80,000 to 99,999.99 MAD, just under
    Morocco's 100,000 MAD reporting threshold, within at most 6 days, at branches in several
    cities, on top of the account's ordinary traffic. Ordinary traffic never comes near the
    threshold (cash deposits stay at or below 40,000 MAD), so the labels are the ground truth of
    the structuring rule.
    ``funnel_account``: 4 to 8 cash deposits of 5,000 to 30,000 MAD (20,000 or more in all), at
    branches and ATMs in 3 to 5 cities within at most 4 days, by the holder or third parties
    (a depositor's name in ``counterparty``), away from the account's other cash deposits; then
    within 72 hours 75 to 97 % leaves: cash withdrawn in a border or port city none of the
    deposits was made in (Oujda, Nador, Tangier, Fnideq, Tetouan) and/or transfers abroad (ES,
    FR, TR, AE, CN).
    ``mule_account``: an individual's account, opened for the purpose up to 10 days before the
    money comes (60 %) or opened years ago and quiet since (no traffic but a couple of small
    card payments). Transfers of 2,000 to 15,000 MAD (15,000 or more in all) from 6 to 12
    distinct senders arrive within at most 4.5 days, in one to three waves; 30 hours at most
    after each wave 85 to 98 % of it has left to one or two collector accounts (some abroad),
    part of it perhaps as ATM cash. About half the inflows exist only as the payer's ``out``
    transfer on another simulated account (``counterparty.account_id`` = the mule: the monitor
    must derive the payee leg), a quarter are reported by both banks (the payee's ``in`` a few
    minutes after), a quarter only as the mule's ``in`` from an account at another bank.
    ``card_testing``: 6 to 20 ``ecommerce`` card payments of 1 to 40 MAD within 8 minutes at 1 to
    3 digital-goods or donation merchants (MCC 5815-5818, 8398, 4816), at least 60 % declined;
    in 30 % of the cases 4 to 8 cards of the account are probed at one merchant. The burst
    carries no device (the merchant's checkout is the tester's). A fifth of these land on an
    account labelled with another typology (a compromised customer).
    ``account_takeover``: an established individual account (logins from its devices before,
    past the 14 days a takeover rule needs to learn them) gets a ``login`` (or a
    ``credentials_reset`` then a login) from a new device in Fez or Meknes, a new device
    abroad (FR, NG, RU, UA, BR), or its own phone driven from abroad; 15 minutes to 18 hours
    later the account is drained from that device and IP: one or two transfers of 8,000 to
    40,000 MAD to payees never paid before, or 2 to 4 online purchases of 2,500 to 12,000 MAD at
    electronics, computer, jewellery, gift-card or camera merchants, all within 24 hours.
    ``trafficking_indicators`` (FinCEN FIN-2014-A008 and FIN-2020-A008, FATF/APG 2018 red
    flags): within a window of 14 to 28 days an individual's account shows four to seven of
    these flags, at least one of the three strong ones. Strong: 2 to 6 online card payments
    at escort, adult or classified-ad sites (MCC 7273, 5967, 7311; 99 to 1,500 MAD); 2 to 5
    transfers out of round amounts (multiples of 500 or 1,000 MAD, 1,000 to 10,000) to one
    to three people in high-risk countries (FATF increased monitoring: NG, CM, CD, ML;
    conflict: LY, SD); paying for several people, on two or three days 3 to 5 identical
    long-distance tickets at one seller within minutes (rail 4112, coach 4131, airline 4511)
    and/or on two nights 2 or 3 rooms at one hotel (7011). Weak: hotel stays in 3 to 5
    Moroccan cities; 4 to 8 tickets (rail, coach, ride-hailing taxi 4121, airline); 5 to 10
    prepaid top-ups (4814) and perhaps spare SIM cards (4812); night life, 85 % of the injected
    events between 22:00 and 05:00 Morocco time (UTC+1, so 21:00 to 04:00 UTC; Ramadan's UTC+0
    is ignored) plus 8 to 16 night payments at bars, snacks and fuel stations, while 70 % of
    the account's ordinary daytime card payments and withdrawals in the window are dropped.
    All on top of the account's ordinary life (salary, rent); no cash deposits, no new device.
    ``shared_identity`` (counterfeit or synthetic identities; the Fez gang's counterfeit ID
    cards): rings of ordinary individuals' accounts whose ``opened`` events were written
    within 3 weeks of each other, 35 to 200 days before the period, at branches of one city
    (Fez for most document rings). A ring is linked by one thing: one ``id_document`` hash on
    2 or 3 accounts with different names; or one KYC phone, one KYC e-mail (spelled in other
    letter cases on some accounts) or one device (the controller's phone, in ``login`` events
    and online transactions, with its IP) behind 3 to 5 accounts with different names and
    different addresses. Every account of a ring is labelled; rings are cut so that their
    sizes add up to the share exactly.
    ``osint_match``: an identifier of the account appears in an ``osint.indicators`` message,
    spelled differently, or it pays a sanctioned party. In turn (sanctions most often): the KYC
    phone on ``opened`` (indicator ``00212 6-12 34 56 78``, ``+212.6.12...``, ``(+212)
    612-...``), the KYC e-mail (upper or capitalised), the device it logs in from (upper
    case), a domestic account it pays 1-2 times (``type`` account, as is), a flagged shop it
    buys from 1-3 times (``merchant``, the id in lower case), a person named in a news report
    it pays abroad (``name``, other case or spacing), or 1-2 transfers of 1,000 to 8,000 MAD
    to a payee named as on OFAC's SDN list (2024-05-03) in ten real entries (LIBYA3 migrant
    smugglers Ermias Ghermay, Abd al-Razzak Fitwi, Abd al-Rahman Milad a.k.a. al-Bija, Ahmed
    Dabbashi; the Zhao Wei TCO, Kings Romans International (HK), Su Guiqin; the Kinahan
    Organized Crime Group; Richard Izuchukwu Uzuh; Zineb Souma Yahya Jammeh), spelled in
    "First Last" order, lower or upper case, with accents, or by an alias; no indicator for
    those. A fifth of the matches fall on trafficking accounts instead (their phone in an
    escort ad; two labels). Each indicator is timed once all traffic is written: published
    before the first use of the identifier or after the last, its ``expires_at`` (half of
    them have one) after the account's first use. The detectors are expected to compare E.164
    phones, lower-case e-mails, device and merchant ids, case-folded names, and account ids as
    they are; an indicator matches a use that happened before its ``expires_at``.
    ``anomaly`` (for the isolation forest; no rule targets it): behaviour unusual for the
    account, on an ordinary account opened at least 30 days before the period and not used by
    the typologies above, after a third of the period (at least 7 days) of its ordinary life,
    which goes on around it. In turn (``Simulation.anomalies`` says which): a salaried
    customer's one transfer of 30 to 100 times its median transfer (15,000 MAD at least),
    between 02:00 and 04:00 Morocco time, from its own device to a new payee abroad in a
    country on no FATF or conflict list (FR, ES, IT, BE, NL, DE, GB, CA, PT); its card used in
    person for the first time abroad (IT, GB, DE, CH, NL): 3 to 5 purchases at jewellers,
    department stores, electronics and fashion shops within an hour, each 20 to 60 times its
    median card payment (3,000 MAD at least); 5 to 10 ATM withdrawals of 1,000 to 4,000 MAD over
    one or two nights (00:30 to 05:00) in a Moroccan town it was never seen in; a business paid
    40 to 60 times its median inflow (100,000 MAD at least) by a firm it never dealt with, in
    Morocco or abroad, and 90 to 99 % of it paid on in one transfer to a new payee within 20
    minutes to 5 hours (the business has at most three payers by transfer in the whole period,
    far from the mule rule's five). None of it meets a rule: no new device or country at login,
    no cash deposit, no lodging, transport or telecom merchant, no listed country, no SDN
    look-alike or OSINT-indicated name (the tests replay the rules over it).

Hard negatives (listed in ``hard_negatives`` by kind, never labelled)
    What a naive rule confuses with each typology. Structuring (as many accounts as the
    structurers): a single near-threshold deposit, two in a week, three spread over more than
    the 7-day window, businesses depositing 100,000 to 250,000 MAD in cash openly (reported, so
    nothing is evaded). Funnel: a business banking its takings in its own city and then paying
    an import abroad; a travelling salesperson depositing in 3-4 cities within days and keeping
    the money; deposits in several cities a week apart over three weeks, then a payment abroad.
    Mule: a firm paid by 6-10 clients paying 10-20 employees on payday; a student (often a new
    account) fed by 5-8 relatives with 300 to 2,000 MAD each and spending it by card over weeks;
    a landlord collecting rent from 5-9 tenants and keeping it. Card testing: 6-12 small coffees
    paid at the counter across a day; a commuter's tram and bus taps; one declined online
    subscription, perhaps retried. Takeover: a new phone followed by small payments; a trip
    abroad (logins from there on the customer's phone, hotel, rail and restaurant bills paid
    in person there, the home traffic paused); a new phone, then a large transfer to a relative
    paid before. Where ordinary traffic could complete a pattern by chance (a first rent
    payment after a new-device login, a supplier's bill after a few invoices), the negative is
    placed or sized so that it does not. Trafficking: a business traveller (trips to 3 or 4
    cities, one ticket and one room each, taxis, dinners until 23:30, a third of them a few
    days in Paris or Madrid too); a night-shift worker (snacks, fuel, pharmacy and taxis
    between 22:00 and 05:00 most nights); a family holiday (four plane tickets bought together
    once, one room, restaurants); prepaid top-ups and bus rides all month; a migrant worker's
    one round remittance home (CI, ML, CM, NG or BF: FATF increased monitoring). Each shows at
    most three flags, never with a strong one but the remittance's wire. Shared identity: a
    family of 3 or 4 (parents and adult children, each their own document) at one address
    string, all giving the home landline and sharing the home tablet; one person with an
    account at each of two banks (same name, document, phone, e-mail, address and phone
    device; the second account's transactions come from institution ``TXC-MA``); a couple
    sharing a laptop (two names); and as many customers again whose phones go out through one
    of three public IPs (a carrier's NAT, a cybercafe): an IP is no identity link. OSINT: an
    indicator that expired before the account first used the identifier (a recycled phone
    number, a payee or a shop flagged and cleared long ago); payments to people with common
    Moroccan names that share a word with some SDN entry and nothing more (Yassine Berrada,
    Mounir Tazi, Said Bennani, ...); a phone indicator one digit off the customer's own
    number, which no customer has. Anomaly: large but ordinary payments of a well-off customer
    (declared income of 12,000 MAD a month or more where there are enough) with a history of big
    payments (3 to 5 transfers of 8,000 to 30,000 MAD to one or two relatives earlier in the
    period): a year's rent of a holiday home or a year's school fees (40,000 to 150,000 MAD,
    online by day), or a car paid at the branch to a dealer (120,000 to 350,000 MAD); and a
    salary paid a day early (every salary transfer of the account moved a day earlier).

    The other OSINT indicators (a handful) use phone ranges, e-mail domains and IP ranges that
    no simulated customer uses. With the added typologies on, no customer, employer, supplier
    or other counterparty bears a name of the pools that a fuzzy SDN screen confuses with a
    listed entry (``_SDN_LOOKALIKES``): such names are replaced by another family name (or
    company word), so every screening hit is an injected one. With ``invalid_messages`` the
    stream also carries deliberately broken messages (non-JSON, non-UTF-8, schema violations, a
    key that differs from ``account_id``) to exercise the dead-letter path; they never touch
    the labels.

Shares
    ``structuring_share`` (2 %) and, for each other typology, a share of injected accounts and a
    share of hard negatives (1.5 % each by default, 1 % for ``anomaly``); a share above 0 gives
    at least one account when there are two or more (two for a ring), and a typology whose
    pattern does not fit in ``days`` is left out (trafficking needs 15 days, anomalies 10). New
    roles go to ordinary accounts only (businesses where a business is needed), so the
    structuring roles are the same whatever the other shares. The shared-identity negative
    share counts the accounts of families, two-bank customers and couples; as many again share
    public IPs. At 3,000 accounts and 30 days: 60 structuring accounts, 45 of each rule
    typology, 45 hard negatives of each; 30 ``anomaly`` accounts (8, 8, 7 and 7 of the four
    behaviours) and 30 of its hard negatives (10 of each kind).

Determinism
    Everything is drawn from ``random.Random`` instances seeded from ``config.seed`` (never the
    global generator or the clock), so one configuration always gives byte-identical messages.
    The valid traffic does not depend on ``invalid_messages``. Event ids are numbered in event
    time order (``tx-<seed>-<n>``, ``ae-<seed>-<n>``, ``ind-<seed>-<n>``). The typologies other
    than structuring, their negatives and the session layer draw from their own generators,
    seeded after all the others: with their fourteen shares at 0 (and the anomalies' two) the
    output is byte for byte what the structuring-only simulator produced. Trafficking, shared
    identities and OSINT matches draw from generators seeded after those: with their six shares
    at 0 (and the anomalies' two) the output is byte for byte what the simulator produced
    before they existed. The anomalies are written last, once all other traffic is, from a
    generator seeded after all of these: with ``anomaly_share`` and ``anomaly_negative_share``
    at 0 the output is byte for byte what the simulator produced before them; above 0, the
    other typologies' labels do not change.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import math
import random
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

__all__ = [
    "ANOMALY_KINDS",
    "HARD_NEGATIVES_BY_TYPOLOGY",
    "HARD_NEGATIVE_KINDS",
    "Simulation",
    "SimulatedMessage",
    "SimulationConfig",
    "TYPOLOGIES",
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
FUNNEL = "funnel_account"
MULE = "mule_account"
CARD_TESTING = "card_testing"
TAKEOVER = "account_takeover"
TRAFFICKING = "trafficking_indicators"
SHARED_IDENTITY = "shared_identity"
OSINT = "osint_match"
ANOMALY = "anomaly"
#: Typology codes the simulator injects and labels.
TYPOLOGIES: tuple[str, ...] = (
    STRUCTURING,
    FUNNEL,
    MULE,
    CARD_TESTING,
    TAKEOVER,
    TRAFFICKING,
    SHARED_IDENTITY,
    OSINT,
    ANOMALY,
)
NIGHT_TRANSFER = "large_night_transfer_abroad"
CARD_SPREE = "card_spree_in_a_new_country"
NIGHT_CASH = "night_cash_in_a_new_city"
WINDFALL = "business_windfall_paid_straight_out"
#: The behaviours of ``anomaly`` accounts (no rule targets them), in the order handed out.
ANOMALY_KINDS: tuple[str, ...] = (NIGHT_TRANSFER, CARD_SPREE, NIGHT_CASH, WINDFALL)

SINGLE_NEAR = "single_near_threshold_deposit"
TWO_NEAR = "two_near_deposits"
SPREAD_NEAR = "near_deposits_spread_beyond_window"
BUSINESS_OPEN = "business_large_cash_openly"
ONE_CITY_TAKINGS = "business_takings_one_city_paid_abroad"
SALESPERSON = "travelling_salesperson_deposits"
SPREAD_CITIES = "multi_city_deposits_over_weeks"
PAYROLL = "payroll_fan_out"
STUDENT = "student_supported_by_family"
LANDLORD = "landlord_collecting_rent"
COFFEES = "many_small_coffees"
TRANSIT = "commuter_transit_payments"
ONE_DECLINED = "single_declined_online_purchase"
NEW_PHONE = "new_phone_without_draining"
TRAVELLER = "traveller_abroad"
KNOWN_PAYEE = "new_device_transfer_to_known_payee"
BUSINESS_TRAVELLER = "business_traveller_many_cities"
NIGHT_SHIFT = "night_shift_worker"
FAMILY_HOLIDAY = "family_holiday_tickets_for_four"
TOPUPS_AND_BUS = "phone_top_ups_and_bus"
REMITTANCE = "remittance_to_family_high_risk_country"
FAMILY = "family_at_one_address"
TWO_BANKS = "same_person_two_banks"
COUPLE = "couple_sharing_a_device"
SHARED_IP = "customers_sharing_a_public_ip"
EXPIRED_INDICATOR = "indicator_expired_before_use"
COMMON_NAMES = "common_names_not_sanctioned"
UNKNOWN_PHONE = "indicator_phone_no_customer_has"
YEARLY_PAYMENT = "yearly_payment_by_a_big_spender"
CAR_PURCHASE = "car_bought_by_a_big_spender"
EARLY_SALARY = "salary_a_day_early"
#: Hard-negative kinds of each typology, in the order they are handed out.
HARD_NEGATIVES_BY_TYPOLOGY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        STRUCTURING: (SINGLE_NEAR, BUSINESS_OPEN, SPREAD_NEAR, TWO_NEAR),
        FUNNEL: (ONE_CITY_TAKINGS, SALESPERSON, SPREAD_CITIES),
        MULE: (PAYROLL, STUDENT, LANDLORD),
        CARD_TESTING: (COFFEES, TRANSIT, ONE_DECLINED),
        TAKEOVER: (NEW_PHONE, TRAVELLER, KNOWN_PAYEE),
        TRAFFICKING: (BUSINESS_TRAVELLER, NIGHT_SHIFT, FAMILY_HOLIDAY, TOPUPS_AND_BUS, REMITTANCE),
        SHARED_IDENTITY: (FAMILY, TWO_BANKS, COUPLE, SHARED_IP),
        OSINT: (EXPIRED_INDICATOR, COMMON_NAMES, UNKNOWN_PHONE),
        ANOMALY: (YEARLY_PAYMENT, CAR_PURCHASE, EARLY_SALARY),
    }
)
#: Every hard-negative kind (never labelled), typology by typology.
HARD_NEGATIVE_KINDS: tuple[str, ...] = tuple(
    kind for kinds in HARD_NEGATIVES_BY_TYPOLOGY.values() for kind in kinds
)
_ORDINARY = "ordinary"

_SHARE_FIELDS = (
    "structuring_share",
    "funnel_account_share",
    "funnel_account_negative_share",
    "mule_account_share",
    "mule_account_negative_share",
    "card_testing_share",
    "card_testing_negative_share",
    "account_takeover_share",
    "account_takeover_negative_share",
    "trafficking_indicators_share",
    "trafficking_indicators_negative_share",
    "shared_identity_share",
    "shared_identity_negative_share",
    "osint_match_share",
    "osint_match_negative_share",
    "anomaly_share",
    "anomaly_negative_share",
)

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
    # Shares of accounts injected with the other typologies, and with their hard negatives
    # (a share > 0 gives at least one account). All eight at 0: structuring-only traffic,
    # byte-identical to what the simulator produced before these typologies existed.
    funnel_account_share: float = 0.015
    funnel_account_negative_share: float = 0.015
    mule_account_share: float = 0.015
    mule_account_negative_share: float = 0.015
    card_testing_share: float = 0.015
    card_testing_negative_share: float = 0.015
    account_takeover_share: float = 0.015
    account_takeover_negative_share: float = 0.015
    # Trafficking red flags, shared (counterfeit or synthetic) identities and OSINT/sanctions
    # matches, and their hard negatives. All six at 0: byte for byte what the simulator produced
    # before these three typologies existed.
    trafficking_indicators_share: float = 0.015
    trafficking_indicators_negative_share: float = 0.015
    shared_identity_share: float = 0.015  # accounts in rings
    shared_identity_negative_share: float = 0.015  # accounts in families, pairs, couples
    osint_match_share: float = 0.015
    osint_match_negative_share: float = 0.015
    # Behaviour unusual for the account that no rule targets (for the isolation forest), and
    # its hard negatives. Both at 0: byte for byte what the simulator produced before them.
    anomaly_share: float = 0.01
    anomaly_negative_share: float = 0.01

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ValueError("accounts must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        for name in _SHARE_FIELDS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
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
    #: account_id -> which unusual behaviour (`ANOMALY_KINDS`) an `anomaly` account shows
    anomalies: dict[str, str] = field(default_factory=dict)


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
    # Everything added for the typologies beyond structuring comes from this one, drawn last,
    # so that with their shares at 0 the traffic is exactly the structuring-only traffic.
    extension_seed = master.getrandbits(64)
    # ... and the anomalies no rule targets from this one, drawn after it: with their two shares
    # at 0 the traffic is exactly what it was before they existed.
    anomaly_seed = master.getrandbits(64)

    pools = _Pools(random.Random(pool_seed))
    cal = _Calendar(start, config.days)
    accounts = _make_accounts(roles, account_seeds, pools)
    extension = random.Random(extension_seed)
    cast_seed, inject_seed, session_seed = (extension.getrandbits(64) for _ in range(3))
    # ... and the three typologies added last from this one, drawn after those three
    more = random.Random(extension.getrandbits(64))
    more_cast_seed, more_rewrite_seed, more_inject_seed, names_seed = (
        more.getrandbits(64) for _ in range(4)
    )
    cast = _cast(config, accounts, random.Random(cast_seed)) if _extended(config) else None
    more_cast = None
    if cast is not None and any(s > 0 or n > 0 for _t, s, n in _more_shares(config)):
        _clear_lookalikes(accounts, pools, random.Random(names_seed))
        more_cast = _cast_more(config, cast, random.Random(more_cast_seed))
    if more_cast is not None:  # before any traffic: names, addresses, phones, devices change
        _rewrite_identities(more_cast, accounts, random.Random(more_rewrite_seed))
    out = _Emitter()
    opened: dict[str, int] = {}
    for acct in accounts:
        if acct.role in _OWN_LIFE:  # accounts whose whole life the extension writes
            continue
        opened[acct.account_id] = _opened(out, acct, start)
        _logins(out, acct, config.days)
        if acct.business:
            _business_traffic(out, acct, cal, pools)
        else:
            _individual_traffic(out, acct, accounts, cal, pools)
        _inject(out, acct, cal)
    busy: set[str] = set()
    if cast is not None:
        ext = _Extension(out, cal, pools, accounts, cast, opened, inject_seed, session_seed)
        if more_cast is not None:
            ext.more = _More(ext, more_cast, start, more_inject_seed)
        ext.run()
        busy = ext.busy
    anomalies: dict[str, str] = {}
    if config.anomaly_share > 0 or config.anomaly_negative_share > 0:
        stage = _Anomalies(out, cal, pools, accounts, opened, busy, random.Random(anomaly_seed))
        anomalies = stage.run(config)
    _indicators(out, random.Random(indicator_seed), start, config.days)
    if config.invalid_messages:
        _invalid(out, random.Random(invalid_seed), accounts, config)

    messages = out.render(start, config.seed)
    labels: dict[str, set[str]] = {}
    for acct in accounts:
        if acct.role in TYPOLOGIES:
            labels.setdefault(acct.account_id, set()).add(acct.role)
    for acct in cast.card_also if cast is not None else ():
        labels.setdefault(acct.account_id, set()).add(CARD_TESTING)
    for acct in more_cast.osint_also if more_cast is not None else ():
        labels.setdefault(acct.account_id, set()).add(OSINT)
    hard = {a.account_id: a.role for a in accounts if a.role in HARD_NEGATIVE_KINDS}
    return Simulation(
        messages=messages,
        labels={account: sorted(codes) for account, codes in sorted(labels.items())},
        hard_negatives=dict(sorted(hard.items())),
        anomalies=dict(sorted(anomalies.items())),
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
    kinds = [
        k
        for k in HARD_NEGATIVES_BY_TYPOLOGY[STRUCTURING]
        if k != SPREAD_NEAR or _spread_gaps(config.days)
    ]
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
        rng: random.Random | None = None,
        country: str = COUNTRY,
        device_id: str | None = None,
        ip: str | None = None,
    ) -> None:
        """One transaction on `acct`; draws from `rng` (default: the account's generator)."""
        if rng is None:
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
            payload["location"] = {"country": country, "city": city}
        if device:
            d = rng.randrange(len(acct.devices))
            payload["device_id"] = acct.devices[d]
            payload["ip"] = acct.ips[d]
        elif device_id is not None:
            payload["device_id"] = device_id
            if ip is not None:
                payload["ip"] = ip
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


def _opened(out: _Emitter, acct: _Account, start: datetime) -> int:
    """Emit the account's `opened` event; return its offset (before the period)."""
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
    return -ago


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
            if payee is acct or payee.role in _OWN_LIFE:
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


# --------------------------------------------------------------------------------------------
# Typologies beyond structuring: funnel accounts, money mules, card testing, account takeover
# --------------------------------------------------------------------------------------------

# role -> (business account needed: True, False or None for either; fewest simulated days)
_ROLE_NEEDS: dict[str, tuple[bool | None, int]] = {
    FUNNEL: (False, 7),
    ONE_CITY_TAKINGS: (True, 7),
    SALESPERSON: (False, 7),
    SPREAD_CITIES: (False, 22),
    MULE: (False, 8),
    PAYROLL: (True, 8),
    STUDENT: (False, 8),
    LANDLORD: (False, 8),
    CARD_TESTING: (None, 1),
    COFFEES: (False, 1),
    TRANSIT: (False, 5),
    ONE_DECLINED: (None, 1),
    TAKEOVER: (False, 5),
    NEW_PHONE: (False, 6),
    TRAVELLER: (False, 10),
    KNOWN_PAYEE: (False, 8),
}
#: Roles whose whole traffic the extension writes (new or quiet accounts, students).
_OWN_LIFE = frozenset({MULE, STUDENT})
#: How long after a new-device access no draining-like traffic may follow on a hard negative
#: (the account-takeover rule looks 48 hours ahead).
_CALM = 50 * _HOUR
#: The account-takeover rule learns an account's devices for 14 days from its first event.
_LEARNING = 15 * _DAY

# fmt: off
# where funnelled cash leaves the country (border towns, the Strait)
_EXIT_CITIES = ("Oujda", "Nador", "Tangier", "Fnideq", "Tetouan")
_ABROAD = ("ES", "FR", "TR", "AE", "CN")
_ATTACKER_COUNTRIES = ("FR", "NG", "RU", "UA", "BR")
_TRIP_COUNTRIES = ("FR", "ES", "TR", "AE", "IT")
_FOREIGN_CITIES: dict[str, tuple[str, ...]] = {
    "ES": ("Madrid", "Barcelona", "Malaga"), "FR": ("Paris", "Lyon", "Marseille"),
    "TR": ("Istanbul", "Ankara"), "AE": ("Dubai", "Abu Dhabi"), "CN": ("Guangzhou", "Yiwu"),
    "NG": ("Lagos", "Abuja"), "RU": ("Moscow", "Saint Petersburg"), "UA": ("Kyiv", "Odesa"),
    "BR": ("Sao Paulo", "Rio de Janeiro"), "IT": ("Rome", "Milan"),
}
_FOREIGN_BANKS: dict[str, tuple[str, ...]] = {
    "ES": ("CaixaBank", "BBVA", "Banco Santander"), "FR": ("BNP Paribas", "Credit Agricole"),
    "TR": ("Garanti BBVA", "Ziraat Bankasi"), "AE": ("Emirates NBD", "ADCB"),
    "CN": ("Bank of China", "ICBC"),
}
_FOREIGN_COMPANIES: dict[str, tuple[str, ...]] = {
    "ES": ("Comercial Levante SL", "Distribuciones Sur SL"),
    "FR": ("SARL Import Export Paris", "Negoce Rhone SAS"),
    "TR": ("Istanbul Tekstil Ltd Sti", "Anadolu Dis Ticaret AS"),
    "AE": ("Gulf General Trading LLC", "Deira Gold Trading LLC"),
    "CN": ("Yiwu Star Trading Co", "Guangzhou Lucky Import Export Co"),
}
# public address ranges by country (never the documentation ranges the OSINT feed uses)
_IP_OCTETS: dict[str, tuple[int, ...]] = {
    "MA": (41, 105, 196), "FR": (78, 90, 176), "ES": (83, 88, 95), "TR": (78, 85, 88),
    "AE": (5, 94, 185), "CN": (36, 58, 113), "NG": (102, 129, 197), "RU": (5, 46, 95),
    "UA": (46, 91, 176), "BR": (177, 187, 189), "IT": (79, 93, 151),
}
# card-not-present targets of card testers: mcc, name, country
_PROBE_SITES = (
    ("5815", "StreamNest Media", "IE"), ("5816", "PixelForge Games", "US"),
    ("5817", "AppHarbor Store", "NL"), ("5818", "DigiMart Global", "GB"),
    ("8398", "Hope Relief Foundation", "US"), ("4816", "CloudNode Hosting", "LT"),
    ("5816", "Arena Coins", "CY"), ("8398", "Association Al Khair en ligne", "MA"),
)
# goods a takeover gang resells: mcc, name, country
_RESALE_SITES = (
    ("5732", "TechnoMaroc.ma", "MA"), ("5732", "Electro Discount en ligne", "MA"),
    ("5045", "PC Store Maroc", "MA"), ("5045", "LaptopDirect EU", "FR"),
    ("5944", "Bijouterie Al Yakout en ligne", "MA"), ("5944", "Gold Souk Online", "AE"),
    ("6540", "GiftCard Express", "GB"), ("6540", "Recharge Pay", "MA"),
    ("5946", "Photo Optique Store", "MA"), ("5946", "CameraWorld EU", "ES"),
)
_COFFEE_BRANDS = ("Cafe Maure", "Cafe Paul", "Starbucks", "Cafe des Arts", "Cafe Carrion")
# a trip: hotels (7011), rail (4112), restaurants (5812) by country
_TRIP_MERCHANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "FR": (("Hotel Mercure Gare de Lyon", "Ibis Styles Centre"), ("SNCF Voyageurs",),
           ("Brasserie du Marche", "Le Petit Zinc")),
    "ES": (("Hotel NH Centro", "Melia Sol"), ("Renfe",), ("Taberna La Plaza", "Casa Lola")),
    "TR": (("Hilton Bosphorus", "Ibis Taksim"), ("TCDD Tasimacilik",), ("Lokanta Sultan",)),
    "AE": (("Rove Downtown", "Jumeirah Beach Hotel"), ("Etihad Rail",), ("Al Mallah",)),
    "IT": (("Hotel Roma Termini", "NH Milano"), ("Trenitalia",), ("Trattoria da Mario",)),
}
_DIGITAL_PRICES = (2999, 4999, 6500, 9900, 11900)  # subscriptions, in centimes
# fmt: on


def _extended(config: SimulationConfig) -> bool:
    """Whether any typology beyond structuring (or its hard negatives) is injected."""
    every = (*_shares(config), *_more_shares(config))
    return any(share > 0 or negative > 0 for _typology, share, negative in every)


def _shares(config: SimulationConfig) -> tuple[tuple[str, float, float], ...]:
    """(typology, share, hard-negative share), in the order roles are handed out."""
    return (
        (FUNNEL, config.funnel_account_share, config.funnel_account_negative_share),
        (MULE, config.mule_account_share, config.mule_account_negative_share),
        (TAKEOVER, config.account_takeover_share, config.account_takeover_negative_share),
        (CARD_TESTING, config.card_testing_share, config.card_testing_negative_share),
    )


def _count(accounts: int, share: float) -> int:
    count = round(accounts * share)
    if share > 0 and count == 0 and accounts >= 2:
        count = 1
    return count


@dataclass(slots=True)
class _Cast:
    helpers: list[_Account]  # ordinary individuals who pay mules, students and landlords
    card_also: list[_Account]  # accounts labelled otherwise whose card is tested as well


def _cast(config: SimulationConfig, accounts: list[_Account], rng: random.Random) -> _Cast:
    """Hand the new roles to ordinary accounts (never to structuring accounts or negatives)."""
    free = [a for a in accounts if a.role == _ORDINARY]
    rng.shuffle(free)
    people = [a for a in free if not a.business]
    firms = [a for a in free if a.business]
    positives = [a for a in accounts if a.role == STRUCTURING]
    card_also: list[_Account] = []

    def take(business: bool | None) -> _Account | None:
        first, second = (firms, people) if business else (people, firms)
        if first:
            return first.pop()
        if business is None and second:
            return second.pop()
        return None

    for typology, share, negative_share in _shares(config):
        needs, min_days = _ROLE_NEEDS[typology]
        for _ in range(_count(config.accounts, share) if config.days >= min_days else 0):
            if typology == CARD_TESTING and positives and rng.random() < 0.2:
                # a compromised card on an account already labelled (several labels)
                card_also.append(positives.pop(rng.randrange(len(positives))))
                continue
            acct = take(needs)
            if acct is None:
                break
            acct.role = typology
            if typology not in (MULE, CARD_TESTING):
                positives.append(acct)
        kinds = [
            k for k in HARD_NEGATIVES_BY_TYPOLOGY[typology] if config.days >= _ROLE_NEEDS[k][1]
        ]
        for j in range(_count(config.accounts, negative_share) if kinds else 0):
            kind = kinds[j % len(kinds)]
            acct = take(_ROLE_NEEDS[kind][0])
            if acct is not None:
                acct.role = kind
    return _Cast(helpers=sorted(people, key=lambda a: a.index), card_also=card_also)


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the extension needs to know of one transaction already generated."""

    offset: int
    kind: str
    direction: str
    cents: int
    channel: str | None
    payee: str | None


def _cents_of(amount: Any) -> int:
    if isinstance(amount, str):
        return int(amount.replace(".", ""))  # always "<units>.<2 digits>" (see _money)
    if isinstance(amount, int):
        return amount * 100
    return round(float(amount) * 100)


def _ledger(records: list[_Record]) -> dict[str, list[_Entry]]:
    """The transactions generated so far, by account, in event-time order."""
    book: dict[str, list[_Entry]] = {}
    for rec in records:
        p = rec.payload
        if rec.topic != TOPIC_TRANSACTIONS or p is None:
            continue
        cp = p.get("counterparty")
        book.setdefault(p["account_id"], []).append(
            _Entry(
                rec.offset,
                p["kind"],
                p["direction"],
                _cents_of(p["amount"]),
                p.get("channel"),
                cp.get("account_id") if cp else None,
            )
        )
    for entries in book.values():
        entries.sort(key=lambda e: e.offset)
    return book


def _calm(entries: list[_Entry], lo: int, hi: int) -> bool:
    """Nothing in [lo, hi] that looks like draining: no transfer of 4,000 MAD or more, nor
    8,000 MAD in all, to payees not paid before `lo`; no online card payment of 1,500 or more."""
    paid: set[str | None] = set()
    new_payees = 0
    for e in entries:
        if e.offset > hi:
            break
        if e.kind == "transfer" and e.direction == "out":
            if e.offset < lo:
                paid.add(e.payee)
            elif e.payee not in paid:
                if e.cents >= 4_000_00:
                    return False
                new_payees += e.cents
        elif e.kind == "card_payment" and e.channel == "ecommerce":
            if e.offset >= lo and e.cents >= 1_500_00:
                return False
    return new_payees < 8_000_00


def _within(
    rng: random.Random, lo: int, hi: int, earliest: float = 0.0, latest: float = 24.0
) -> int:
    """A moment in [lo, hi) at an hour of the day between `earliest` and `latest` if possible."""
    if hi <= lo:
        return lo
    for _ in range(40):
        moment = lo + rng.randrange(hi - lo)
        if earliest <= (moment % _DAY) / _HOUR < latest:
            return moment
    return lo + rng.randrange(hi - lo)


def _split(rng: random.Random, total: int, parts: int, unit: int) -> list[int]:
    """`parts` amounts (multiples of `unit`, each at least `unit`) summing to about `total`."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = sum(weights)
    return [max(unit, int(total * w / scale) // unit * unit) for w in weights]


def _own_device(rng: random.Random, acct: _Account) -> tuple[str, str]:
    """The device (and its IP) a customer uses: the first one three times in four."""
    d = 0 if len(acct.devices) == 1 or rng.random() < 0.75 else 1
    return acct.devices[d], acct.ips[d]


def _public_ip(rng: random.Random, country: str) -> str:
    first = rng.choice(_IP_OCTETS[country])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _private_ip(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _new_device(rng: random.Random) -> str:
    return f"dev-{rng.getrandbits(48):012x}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_MALE + _FIRST_FEMALE)} {rng.choice(_LAST)}"


def _external(rng: random.Random, country: str, name: str | None = None) -> dict[str, Any]:
    """An account at another bank (in Morocco or abroad) the simulation does not report on."""
    bank = rng.choice(_BANKS) if country == COUNTRY else rng.choice(_FOREIGN_BANKS[country])
    return {
        "account_id": f"EXT-{country}-{rng.randrange(10**10):010d}",
        "name": name or _person(rng),
        "bank": bank,
        "country": country,
    }


def _inhouse(acct: _Account) -> dict[str, Any]:
    return {
        "account_id": acct.account_id,
        "name": acct.name,
        "bank": INSTITUTION,
        "country": COUNTRY,
    }


def _site(kind: str, index: int, mcc: str, name: str, country: str) -> dict[str, Any]:
    return {"merchant_id": f"MER-{kind}{index:03d}", "name": name, "mcc": mcc, "country": country}


def _access(
    out: _Emitter,
    acct: _Account,
    offset: int,
    device: str,
    ip: str,
    *,
    kind: str = "login",
    country: str = COUNTRY,
    city: str | None = None,
) -> None:
    """A `login` or `credentials_reset` on the accounts topic."""
    out.add(
        TOPIC_ACCOUNTS,
        acct.account_id,
        offset,
        {
            "event_id": "",
            "occurred_at": "",
            "account_id": acct.account_id,
            "kind": kind,
            "device_id": device,
            "ip": ip,
            "location": {"country": country, "city": city or acct.city},
        },
    )


@dataclass(slots=True)
class _Sessions:
    """How the session layer logs an account in (defaults: its own devices, at home)."""

    switch: tuple[int, str, str] | None = None  # from this moment mostly this new device, ip
    trip: tuple[int, int, str, str, str] | None = None  # (from, to, country, city, ip) abroad


class _Extension:
    """Writes the new typologies, their hard negatives and the session layer."""

    def __init__(
        self,
        out: _Emitter,
        cal: _Calendar,
        pools: _Pools,
        accounts: list[_Account],
        cast: _Cast,
        opened: dict[str, int],
        inject_seed: int,
        session_seed: int,
    ) -> None:
        self.out = out
        self.cal = cal
        self.days = cal.days
        self.end = cal.days * _DAY
        self.pools = pools
        self.accounts = accounts
        self.cast = cast
        self.opened = opened
        self.rng = random.Random(inject_seed)
        sessions = random.Random(session_seed)
        self.session_seeds = [sessions.getrandbits(64) for _ in accounts]
        self.ledger = _ledger(out.records)
        self.sessions: dict[str, _Sessions] = {}
        self.busy: set[str] = set()  # helpers given extra payments (no password resets for them)
        self.more: _More | None = None  # the typologies added last, if any
        self.trips: dict[str, tuple[int, int]] = {}
        self.coffee = {
            city: [
                _MerchantRef(f"MER-CAF{c:02d}{n:02d}", f"{brand} {city}", "5814", city)
                for n, brand in enumerate(_COFFEE_BRANDS)
            ]
            for c, city in enumerate(_CITY_NAMES)
        }
        self.probe_sites = [_site("CNP", n, *site) for n, site in enumerate(_PROBE_SITES)]
        self.resale_sites = [_site("RSL", n, *site) for n, site in enumerate(_RESALE_SITES)]

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> None:
        handlers: dict[str, Callable[[_Account], None]] = {
            FUNNEL: self.funnel,
            ONE_CITY_TAKINGS: self.one_city_takings,
            SALESPERSON: self.salesperson,
            SPREAD_CITIES: self.spread_cities,
            MULE: self.mule,
            PAYROLL: self.payroll,
            STUDENT: self.student,
            LANDLORD: self.landlord,
            CARD_TESTING: self.card_testing,
            COFFEES: self.coffees,
            TRANSIT: self.transit,
            ONE_DECLINED: self.one_declined,
            TAKEOVER: self.takeover,
            NEW_PHONE: self.new_phone,
            TRAVELLER: self.traveller,
            KNOWN_PAYEE: self.known_payee,
        }
        self._established_takeover_roles()
        for acct in self.accounts:
            handler = handlers.get(acct.role)
            if handler is not None:
                handler(acct)
        for acct in self.cast.card_also:
            self.card_testing(acct)
        if self.more is not None:
            self.more.run()
        if self.trips:
            self._drop_home_traffic_during_trips()
        for acct in self.accounts:
            if acct.role not in _OWN_LIFE:
                self._session_layer(acct)
        if self.more is not None:  # indicators are timed against every use, sessions included
            self.more.rename_lookalikes()
            self.more.indicators()

    def _established_takeover_roles(self) -> None:
        """Takeover roles (victims and negatives) need an account whose devices are known well
        before the access: one opened too recently hands its role to an older ordinary account.
        Safe because these roles do not change the ordinary traffic already generated."""
        latest = (self.days - 2) * _DAY - _LEARNING  # opened after this, no takeover to see
        roles = {TAKEOVER, *HARD_NEGATIVES_BY_TYPOLOGY[TAKEOVER]}
        helpers = self.cast.helpers
        for acct in self.accounts:
            if acct.role not in roles or self.opened[acct.account_id] <= latest:
                continue
            older = next((h for h in helpers if self.opened[h.account_id] <= latest), None)
            if older is None:
                return
            helpers.remove(older)
            helpers.append(acct)
            helpers.sort(key=lambda a: a.index)
            older.role, acct.role = acct.role, _ORDINARY

    # -- the session layer -----------------------------------------------------------------------

    def _sessions(
        self,
        acct: _Account,
        rng: random.Random,
        lo: int,
        hi: int,
        per_week: float,
        devices: tuple[str, ...],
        ips: tuple[str, ...],
        trip: tuple[int, int, str, str, str] | None = None,
        primary: float = 0.75,
        fresh: tuple[int, str] | None = None,
    ) -> None:
        """Logins from the account's own devices, mostly from home, a few times a week.

        `fresh` is (since, device): a device first used at `since`. A takeover rule still
        treats it as new for 48 hours, so a login from it then is skipped when draining-like
        traffic of the account follows within `_CALM`."""
        if hi <= lo:
            return
        for _ in range(_poisson(rng, per_week * (hi - lo) / (7 * _DAY))):
            moment = _within(rng, lo, hi, 6.5, 23.5)
            d = 0 if len(devices) == 1 or rng.random() < primary else rng.randrange(1, len(devices))
            if trip is not None and trip[0] <= moment < trip[1]:
                _access(self.out, acct, moment, devices[d], trip[4], country=trip[2], city=trip[3])
            else:
                city = acct.city if rng.random() < 0.92 else _city(rng)
                if (
                    fresh is not None
                    and devices[d] == fresh[1]
                    and moment - fresh[0] <= _CALM
                    and not _calm(self.ledger.get(acct.account_id, []), moment, moment + _CALM)
                ):
                    continue
                _access(self.out, acct, moment, devices[d], ips[d], city=city)

    def _session_layer(self, acct: _Account) -> None:
        rng = random.Random(self.session_seeds[acct.index])
        spec = self.sessions.get(acct.account_id, _Sessions())
        # the devices the customer already used before the period (known devices)
        opened = self.opened.get(acct.account_id, -365 * _DAY)
        lo, hi = max(opened + 300, -21 * _DAY), 0
        if hi - lo < _HOUR:
            lo, hi = opened + 60, opened + 60 + 6 * _HOUR
        for device, ip in zip(acct.devices, acct.ips, strict=True):
            for _ in range(rng.randint(1, 3)):
                _access(self.out, acct, _within(rng, lo, hi, 7, 23), device, ip)
        # a few sessions a week during the period
        per_week = rng.uniform(3.0, 7.0) if acct.business else rng.uniform(1.5, 4.0)
        if spec.switch is None:
            self._sessions(acct, rng, 0, self.end, per_week, acct.devices, acct.ips, spec.trip)
        else:
            at, device, ip = spec.switch
            self._sessions(acct, rng, 0, at, per_week, acct.devices, acct.ips, spec.trip)
            devices, ips = (device, *acct.devices), (ip, *acct.ips)
            self._sessions(
                acct,
                rng,
                at + _HOUR,
                self.end,
                per_week,
                devices,
                ips,
                primary=0.85,
                fresh=(at, device),
            )
        # now and then a forgotten password, reset from one of the customer's devices at home
        if (
            acct.role == _ORDINARY
            and acct.account_id not in self.busy
            and rng.random() < 0.03 * self.days / 30
        ):
            entries = self.ledger.get(acct.account_id, [])
            moment = _at(rng, rng.randrange(self.days), 8, 22)
            if _calm(entries, moment, moment + _CALM):
                d = rng.randrange(len(acct.devices))
                device, ip = acct.devices[d], acct.ips[d]
                _access(self.out, acct, moment, device, ip, kind="credentials_reset")
                _access(self.out, acct, moment + rng.randint(60, 600), device, ip)

    def _own_device(self, acct: _Account) -> tuple[str, str]:
        return _own_device(self.rng, acct)

    def _open(self, acct: _Account, offset: int) -> None:
        """The `opened` event of an account whose life the extension writes."""
        self.opened[acct.account_id] = offset
        self.out.add(
            TOPIC_ACCOUNTS,
            acct.account_id,
            offset,
            {
                "event_id": "",
                "occurred_at": "",
                "account_id": acct.account_id,
                "kind": "opened",
                "customer": acct.customer,
                "location": {"country": COUNTRY, "city": acct.city},
            },
        )

    def _helpers(self, count: int) -> list[_Account]:
        """Up to `count` distinct ordinary individuals (relatives, tenants, victims, staff)."""
        pool = self.cast.helpers
        chosen = self.rng.sample(pool, min(count, len(pool)))
        self.busy.update(a.account_id for a in chosen)
        return chosen

    def _credit(
        self,
        acct: _Account,
        offset: int,
        cents: int,
        payer: _Account | None,
        style: str,
    ) -> None:
        """A transfer to `acct`: reported by the payer only ("payer"), by both banks ("both"), or
        by `acct`'s bank only, from an account at another bank ("payee")."""
        rng = self.rng
        if payer is None or style == "payee":
            party = _external(rng, COUNTRY)
            self.out.txn(acct, offset, "transfer", "in", cents, counterparty=party, rng=rng)
            return
        device, ip = self._own_device(payer)
        self.out.txn(
            payer,
            offset,
            "transfer",
            "out",
            cents,
            channel=rng.choice(("online", "mobile")),
            counterparty=_inhouse(acct),
            rng=rng,
            device_id=device,
            ip=ip,
        )
        if style == "both":
            self.out.txn(
                acct,
                offset + rng.randint(5, 240),
                "transfer",
                "in",
                cents,
                counterparty=_inhouse(payer),
                rng=rng,
            )

    def _transfer_out(
        self,
        acct: _Account,
        offset: int,
        cents: int,
        party: dict[str, Any],
        device: tuple[str, str] | None = None,
    ) -> None:
        device_id, ip = device or self._own_device(acct)
        self.out.txn(
            acct,
            offset,
            "transfer",
            "out",
            cents,
            channel=self.rng.choice(("online", "mobile")),
            counterparty=party,
            rng=self.rng,
            device_id=device_id,
            ip=ip,
        )

    def _card(
        self,
        acct: _Account,
        offset: int,
        cents: int,
        merchant: dict[str, Any],
        *,
        channel: str = "pos",
        status: str = "approved",
        card_id: str | None = None,
        city: str | None = None,
        country: str = COUNTRY,
        device: tuple[str, str] | None = None,
    ) -> None:
        self.out.txn(
            acct,
            offset,
            "card_payment",
            "out",
            cents,
            channel=channel,
            city=city,
            status=status,
            rng=self.rng,
            country=country,
            device_id=device[0] if device else None,
            ip=device[1] if device else None,
            extra={
                "card": {"card_id": card_id or acct.card_id, "bin": acct.card_bin},
                "merchant": merchant,
            },
        )

    # -- funnel account ------------------------------------------------------------------------

    def _deposits(
        self, acct: _Account, cities: list[str], count: int, low: int, high: int
    ) -> tuple[list[tuple[int, int, str]], int]:
        """`count` cash deposits (`low` to `high` MAD) in `cities` (each at least once) within at
        most 4 days, away from the account's other cash deposits; (offset, cents, city) sorted,
        and the total of every cash deposit from 4 days before the first to the exits."""
        rng = self.rng
        deposits = [e for e in self.ledger.get(acct.account_id, []) if e.kind == "cash_deposit"]
        span = rng.randint(1, min(3, self.days - 6))
        first = 0
        for _ in range(30):
            first = rng.randint(0, self.days - 4 - span)
            lo, hi = (first - 4) * _DAY, (first + span + 4) * _DAY
            if not any(lo <= e.offset < hi for e in deposits):
                break
        days = [first, first + span] + [first + rng.randint(0, span) for _ in range(count - 2)]
        where = cities + [rng.choice(cities) for _ in range(count - len(cities))]
        rng.shuffle(where)
        made: list[tuple[int, int, str]] = []
        used: set[int] = set()
        for day, city in zip(sorted(days), where, strict=True):
            cents = rng.randint(low // 50, high // 50) * 50_00
            channel = "atm" if cents <= 10_000_00 and rng.random() < 0.4 else "branch"
            offset = _at(rng, day, 8.5, 17.5) if channel == "branch" else _at(rng, day, 7, 23)
            while offset in used:
                offset += 60
            used.add(offset)
            third_party = rng.random() < 0.5  # a courier depositing for the holder
            self.out.txn(
                acct,
                offset,
                "cash_deposit",
                "in",
                cents,
                channel=channel,
                city=city,
                rng=rng,
                counterparty={"name": _person(rng), "country": COUNTRY} if third_party else None,
            )
            made.append((offset, cents, city))
        made.sort()
        lo, hi = made[0][0] - 4 * _DAY, made[-1][0] + 3 * _DAY
        nearby = sum(e.cents for e in deposits if lo <= e.offset <= hi)
        return made, sum(c for _o, c, _c in made) + nearby

    def _abroad(self, acct: _Account, offset: int, cents: int) -> None:
        country = self.rng.choice(_ABROAD)
        name = self.rng.choice(_FOREIGN_COMPANIES[country]) if self.rng.random() < 0.5 else None
        self._transfer_out(acct, offset, cents, _external(self.rng, country, name))

    def funnel(self, acct: _Account) -> None:
        """Cash in, in 3+ cities within 4 days; most of it out within 72 h, far away."""
        rng = self.rng
        exit_city = rng.choice(_EXIT_CITIES)
        cities = rng.sample([c for c in _CITY_NAMES if c != exit_city], rng.randint(3, 5))
        made, total = self._deposits(
            acct, cities, rng.randint(max(4, len(cities)), 8), 5_000, 30_000
        )
        last = made[-1][0]
        target = int(total * rng.uniform(0.75, 0.97))
        mode = rng.random()
        cash = target if mode < 0.4 else (0 if mode < 0.75 else int(target * rng.uniform(0.3, 0.6)))
        paid = 0
        if cash:
            for cents in _split(rng, cash, rng.randint(1, 3), 100_00):
                channel = "branch" if cents > 5_000_00 else "atm"
                hours = (9.0, 16.5) if channel == "branch" else (7.0, 23.0)
                offset = _within(rng, last + _HOUR, last + 68 * _HOUR, *hours)
                self.out.txn(
                    acct,
                    offset,
                    "cash_withdrawal",
                    "out",
                    cents,
                    channel=channel,
                    city=exit_city,
                    rng=rng,
                )
                paid += cents
        # the rest is wired abroad (all of it when no cash is taken out), never less than 72 %
        wired = max(target - paid if mode >= 0.4 else 0, int(total * 0.72) - paid + 100_00)
        if wired > 0:
            for cents in _split(rng, wired, rng.randint(1, 2), 100):
                self._abroad(acct, _within(rng, last + 1800, last + 68 * _HOUR, 7, 23), cents)

    def one_city_takings(self, acct: _Account) -> None:
        """Hard negative: a trader's takings banked in its own city, then an import paid abroad."""
        rng = self.rng
        made, total = self._deposits(acct, [acct.city], rng.randint(4, 8), 5_000, 30_000)
        last = made[-1][0]
        cents = int(total * rng.uniform(0.75, 0.95))
        country = rng.choice(("CN", "TR"))
        party = _external(rng, country, rng.choice(_FOREIGN_COMPANIES[country]))
        self._transfer_out(
            acct, _within(rng, last + 2 * _HOUR, last + 60 * _HOUR, 9, 18), cents, party
        )

    def salesperson(self, acct: _Account) -> None:
        """Hard negative: a rep banking sales in several cities on a tour; the money stays."""
        rng = self.rng
        cities = rng.sample(_CITY_NAMES, rng.randint(3, 4))
        self._deposits(acct, cities, rng.randint(max(5, len(cities)), 8), 8_000, 30_000)

    def spread_cities(self, acct: _Account) -> None:
        """Hard negative: deposits in several cities, but days apart over weeks; then a payment
        abroad (never three cities within 4 days)."""
        rng = self.rng
        count = rng.randint(4, 5)
        gaps = [rng.randint(6, 8) for _ in range(count - 1)]
        while sum(gaps) > self.days - 5 and len(gaps) > 2:
            gaps.pop()
        while sum(gaps) > self.days - 5 and max(gaps) > 6:
            gaps[gaps.index(max(gaps))] -= 1
        first = rng.randint(0, max(0, self.days - 4 - sum(gaps)))
        cities = rng.sample(_CITY_NAMES, len(gaps) + 1)
        day, total, last = first, 0, 0
        for n, city in enumerate(cities):
            day += gaps[n - 1] if n else 0
            for _ in range(1 if rng.random() < 0.7 else 2):
                cents = rng.randint(100, 600) * 50_00
                last = _at(rng, day, 8.5, 17.5)
                self.out.txn(
                    acct, last, "cash_deposit", "in", cents, channel="branch", city=city, rng=rng
                )
                total += cents
            last = max(last, day * _DAY + 17 * _HOUR + 30 * 60)
        self._abroad(
            acct,
            _within(rng, last + _HOUR, last + 60 * _HOUR, 8, 22),
            int(total * rng.uniform(0.75, 0.95)),
        )

    # -- money mule ------------------------------------------------------------------------------

    def mule(self, acct: _Account) -> None:
        """A new or long-quiet account: 6+ senders within days, most of it gone within 48 h."""
        rng, out = self.rng, self.out
        new = rng.random() < 0.6
        first_day = rng.randint(0 if new else min(5, self.days - 7), self.days - 7)
        t_first = _at(rng, first_day, 8, 20)
        devices = tuple(zip(acct.devices, acct.ips, strict=True))
        if new:  # opened for the purpose, days before the money arrives
            opened = t_first - rng.randint(3 * _HOUR, 10 * _DAY)
            self._open(acct, opened)
            for device, ip in devices:
                _access(out, acct, opened + rng.randint(120, 3600), device, ip)
        else:  # an old account nobody used for months
            opened = -rng.randint(365 * _DAY, 8 * 365 * _DAY)
            self._open(acct, opened)
            for device, ip in devices:
                _access(out, acct, -rng.randint(_DAY, 60 * _DAY), device, ip)
            for _ in range(rng.randint(0, 2)):
                merchant = rng.choice(self.pools.merchants[(acct.city, "5411")])
                offset = _within(rng, 0, max(1, t_first - _DAY), 9, 21)
                self._card(
                    acct, offset, rng.randint(40, 300) * 100, _merchant(merchant), city=acct.city
                )
        start = max(0, opened + 600)
        self._sessions(
            acct,
            random.Random(self.session_seeds[acct.index]),
            start,
            self.end,
            rng.uniform(0.5, 1.5),
            acct.devices,
            acct.ips,
        )

        senders = rng.randint(6, 12)
        while True:
            amounts = [
                rng.randint(20, 150) * 100_00
                if rng.random() < 0.7
                else rng.randint(2_000_00, 15_000_00)
                for _ in range(senders)
            ]
            if sum(amounts) >= 15_000_00:
                break
        waves = 1 if senders < 8 else rng.randint(1, 3)
        sizes = [2] * waves
        for _ in range(senders - 2 * waves):
            sizes[rng.randrange(waves)] += 1
        inhouse = self._helpers(senders)
        collectors = [
            _external(rng, rng.choice(_ABROAD) if rng.random() < 0.55 else COUNTRY)
            for _ in range(1 if rng.random() < 0.6 else 2)
        ]
        uses_atm = rng.random() < 0.5
        wave_start, latest_start = t_first, t_first + 4 * _DAY
        k = 0
        for size in sizes:
            length = rng.randint(_HOUR, 12 * _HOUR)
            times = sorted(wave_start + rng.randint(0, length) for _ in range(size))
            total = 0
            for moment in times:
                cents = amounts[k]
                k += 1
                style = rng.choices(("payer", "both", "payee"), (0.5, 0.25, 0.25))[0]
                payer = inhouse.pop() if style != "payee" and inhouse else None
                self._credit(acct, moment, cents, payer, style)
                total += cents
            wave_end = times[-1]
            # cash-out within 30 h of the wave: a login, ATM cash, transfers to the collectors
            moment = wave_end + rng.randint(30 * 60, 20 * _HOUR)
            _access(out, acct, moment - rng.randint(60, 1200), *devices[0])
            target = int(total * rng.uniform(0.85, 0.98))
            withdrawn = 0
            if uses_atm and total >= 10_000_00:
                cash = min(int(target * rng.uniform(0.1, 0.3)), 10_000_00)
                for cents in _split(rng, cash, rng.randint(2, 4), 100_00):
                    out.txn(
                        acct,
                        moment,
                        "cash_withdrawal",
                        "out",
                        cents,
                        channel="atm",
                        city=acct.city,
                        rng=rng,
                    )
                    moment += rng.randint(60, 900)
                    withdrawn += cents
            rest = target - withdrawn
            parts = _split(rng, rest, len(collectors), 100)
            parts[0] += max(0, rest - sum(parts))
            for party, cents in zip(collectors, parts, strict=True):
                self._transfer_out(acct, moment, cents, party, devices[0])
                moment += rng.randint(300, 2 * _HOUR)
            wave_start = min(latest_start, moment + rng.randint(2 * _HOUR, 30 * _HOUR))

    def payroll(self, acct: _Account) -> None:
        """Hard negative: a firm paid by its clients, then paying 10+ employees on payday."""
        rng = self.rng
        staff: list[tuple[dict[str, Any], int]] = []
        colleagues = self._helpers(rng.randint(0, 4))
        for _ in range(rng.randint(10, 20)):
            party = _inhouse(colleagues.pop()) if colleagues else _external(rng, COUNTRY)
            staff.append((party, rng.randint(30, 90) * 100_00))
        paydays = self.cal.monthly(rng.randint(25, 28)) or [self.days - 2]
        outflows = [
            e
            for e in self.ledger.get(acct.account_id, [])
            if e.direction == "out" and e.kind in ("transfer", "cash_withdrawal")
        ]
        largest_pay = sum(sorted(cents for _party, cents in staff)[-3:])
        for payday in paydays:
            # clients settling invoices in the week before; any five of them well above what the
            # firm pays its three largest payees around payday (its suppliers' bills included)
            invoices = [
                (max(0, payday - rng.randint(1, 6)), rng.randint(50, 400) * 100_00)
                for _ in range(rng.randint(6, 10))
            ]
            lo, hi = min(day for day, _c in invoices) * _DAY, (payday + 3) * _DAY
            paid_out = sum(e.cents for e in outflows if lo <= e.offset <= hi) + largest_pay
            smallest = sum(sorted(cents for _day, cents in invoices)[:5])  # any five senders
            scale = max(1.0, 2 * paid_out / smallest)
            for day, cents in invoices:
                party = _external(rng, COUNTRY, self.pools._company(rng))
                amount = math.ceil(cents * scale / 100_00) * 100_00
                self.out.txn(
                    acct,
                    _at(rng, day, 8, 18),
                    "transfer",
                    "in",
                    amount,
                    counterparty=party,
                    rng=rng,
                )
            moment = _at(rng, payday, 9, 11)
            device = self._own_device(acct)
            for party, cents in staff:
                self._transfer_out(acct, moment, cents, party, device)
                moment += rng.randint(20, 240)

    def student(self, acct: _Account) -> None:
        """Hard negative: a student's account fed by 5-8 relatives, spent slowly by card."""
        rng, out = self.rng, self.out
        recent = rng.random() < 0.5
        opened = -rng.randint(5 * _DAY, 60 * _DAY) if recent else -rng.randint(365, 4 * 365) * _DAY
        self._open(acct, opened)
        for device, ip in zip(acct.devices, acct.ips, strict=True):
            _access(out, acct, max(opened + 600, -rng.randint(_DAY, 5 * _DAY)), device, ip)
        self._sessions(
            acct,
            random.Random(self.session_seeds[acct.index]),
            0,
            self.end,
            rng.uniform(3.0, 6.0),
            acct.devices,
            acct.ips,
        )
        relatives: list[tuple[_Account | None, str]] = [
            (relative, rng.choice(("payer", "both")))
            for relative in self._helpers(rng.randint(1, 3))
        ]
        relatives += [(None, "payee")] * (rng.randint(5, 8) - len(relatives))
        days = self.cal.monthly(rng.randint(1, 3)) or [0]
        for day in days:
            amounts = [rng.randint(6, 40) * 50_00 for _ in relatives]
            while sum(amounts) > 12_000_00:
                amounts = [max(300_00, a * 3 // 4 // 50_00 * 50_00) for a in amounts]
            for (person, style), cents in zip(relatives, amounts, strict=True):
                moment = _at(rng, min(self.days - 1, day + rng.randint(0, 3)), 8, 22)
                self._credit(acct, moment, cents, person, style)
        # spending: small card payments most days, a little cash now and then
        home = acct.city
        for day in range(self.days):
            for _ in range(_poisson(rng, 1.1)):
                mcc = rng.choice(("5814", "5814", "5411", "4111", "4814", "5999", "5912"))
                merchant = rng.choice(self.pools.merchants[(home, mcc)])
                cents = rng.randint(6, 250) * 100 if mcc != "4111" else rng.choice((600, 800))
                self._card(acct, _at(rng, day, 7.5, 23), cents, _merchant(merchant), city=home)
            if rng.random() < 0.08:
                out.txn(
                    acct,
                    _at(rng, day, 8, 22),
                    "cash_withdrawal",
                    "out",
                    rng.choice((100, 200, 200, 300, 500)) * 100,
                    channel="atm",
                    city=home,
                    rng=rng,
                )

    def landlord(self, acct: _Account) -> None:
        """Hard negative: rent from 5-9 tenants early in the month, kept on the account."""
        rng = self.rng
        outflows = [
            e
            for e in self.ledger.get(acct.account_id, [])
            if e.direction == "out" and e.kind in ("transfer", "cash_withdrawal")
        ]
        busiest = max(
            (
                sum(f.cents for f in outflows if e.offset <= f.offset <= e.offset + 2 * _DAY)
                for e in outflows
            ),
            default=0,
        )
        while True:
            rents = [rng.randint(30, 80) * 100_00 for _ in range(rng.randint(5, 9))]
            if sum(rents) >= max(25_000_00, min(2 * busiest, 60_000_00)):
                break
        tenants: list[tuple[_Account | None, str, int, int]] = []
        inhouse = self._helpers(rng.randint(1, 3))
        for cents in rents:
            person = inhouse.pop() if inhouse else None
            style = rng.choice(("payer", "both")) if person else "payee"
            tenants.append((person, style, cents, rng.randint(1, 5)))
        for person, style, cents, day_of_month in tenants:
            for day in self.cal.monthly(day_of_month) or [min(self.days - 1, day_of_month - 1)]:
                self._credit(acct, _at(rng, day, 8, 22), cents, person, style)

    # -- card testing ----------------------------------------------------------------------------

    def card_testing(self, acct: _Account) -> None:
        """A burst of tiny card-not-present payments, mostly declined, within minutes."""
        rng = self.rng
        start = _within(rng, 0, self.end - 600)
        many_cards = rng.random() < 0.3
        if many_cards:  # several cards of the account probed at one site
            cards = [acct.card_id] + [
                f"tok_{rng.getrandbits(64):016x}" for _ in range(rng.randint(3, 7))
            ]
            count = rng.randint(max(6, len(cards)), 20)
            uses = cards + [rng.choice(cards) for _ in range(count - len(cards))]
            rng.shuffle(uses)
            sites = [rng.choice(self.probe_sites)]
            span = rng.randint(60, 300)
        else:
            count = rng.randint(6, 20)
            uses = [acct.card_id] * count
            sites = rng.sample(self.probe_sites, rng.randint(1, 3))
            span = rng.randint(45, 460)
        least = math.ceil(0.6 * count)
        declined = rng.randint(least, count)
        statuses = ["declined"] * declined + ["approved"] * (count - declined)
        rng.shuffle(statuses)
        times = sorted(start + rng.randint(0, span) for _ in range(count))
        for moment, card_id, status in zip(times, uses, statuses, strict=True):
            cents = (
                rng.choice((100, 100, 200, 300, 500, 1000))
                if rng.random() < 0.5
                else rng.randint(100, 4000)
            )
            self._card(
                acct,
                moment,
                cents,
                rng.choice(sites),
                channel="ecommerce",
                status=status,
                card_id=card_id,
            )

    def coffees(self, acct: _Account) -> None:
        """Hard negative: many small approved coffees at the counter across a day."""
        rng = self.rng
        for day in rng.sample(range(self.days), min(self.days, rng.randint(1, 3))):
            for _ in range(rng.randint(6, 12)):
                merchant = rng.choice(self.coffee[acct.city])
                self._card(
                    acct,
                    _at(rng, day, 7, 22),
                    rng.randint(8, 40) * 100,
                    _merchant(merchant),
                    city=acct.city,
                )

    def transit(self, acct: _Account) -> None:
        """Hard negative: a commuter's tram and bus taps, twice or more every working day."""
        rng = self.rng
        lines = self.pools.merchants[(acct.city, "4111")]
        fare = rng.choice((600, 800))
        for day in range(self.days):
            if self.cal.weekday[day] >= 5 or rng.random() < 0.15:
                continue
            for earliest, latest in ((7.0, 9.0), (17.0, 19.5)):
                moment = _at(rng, day, earliest, latest)
                self._card(acct, moment, fare, _merchant(rng.choice(lines)), city=acct.city)
                if rng.random() < 0.3:  # a connection
                    self._card(
                        acct,
                        moment + rng.randint(180, 900),
                        fare,
                        _merchant(rng.choice(lines)),
                        city=acct.city,
                    )

    def one_declined(self, acct: _Account) -> None:
        """Hard negative: one declined online subscription payment, perhaps retried."""
        rng = self.rng
        moment = _at(rng, rng.randrange(self.days), 8, 23)
        site = rng.choice(self.probe_sites[:4])
        cents = rng.choice(_DIGITAL_PRICES)
        device = self._own_device(acct)
        self._card(acct, moment, cents, site, channel="ecommerce", status="declined", device=device)
        if rng.random() < 0.5:
            self._card(
                acct, moment + rng.randint(60, 600), cents, site, channel="ecommerce", device=device
            )

    # -- account takeover ------------------------------------------------------------------------

    def _history(self, acct: _Account, moment: int) -> None:
        """A few logins from the customer's own devices in the days before `moment`."""
        rng = self.rng
        for _ in range(rng.randint(2, 4)):
            lo = max(0, moment - 6 * _DAY)
            _access(
                self.out,
                acct,
                _within(rng, lo, max(lo + 1, moment - _HOUR), 7, 23),
                *self._own_device(acct),
            )

    def _first_day(self, acct: _Account, day: int) -> int:
        """`day`, or the first day the account is past the takeover rule's learning period."""
        opened = self.opened.get(acct.account_id, -365 * _DAY)
        return max(day, min(self.days - 2, -(-(opened + _LEARNING) // _DAY)))

    def _quiet_moment(self, acct: _Account, first_day: int, last_day: int, horizon: int) -> int:
        """A moment on a day in [first_day, last_day] (after the learning period) with no
        drain-like traffic in the `horizon` after it."""
        rng = self.rng
        first_day = self._first_day(acct, first_day)
        last_day = max(first_day, last_day)
        entries = self.ledger.get(acct.account_id, [])
        moment = 0
        for _ in range(40):
            moment = _at(rng, rng.randint(first_day, last_day), 8, 22)
            if _calm(entries, moment, moment + horizon):
                break
        return moment

    def takeover(self, acct: _Account) -> None:
        """A login or reset from a new device or country, then the account drained within 24 h."""
        rng, out = self.rng, self.out
        first_day = self._first_day(acct, max(2, self.days // 5))
        moment = _at(rng, rng.randint(first_day, self.days - 2), 0, 23.9)
        self._history(acct, moment)
        style = rng.random()
        if style < 0.45:  # a local gang on a new phone (Fez)
            country, city = COUNTRY, rng.choice(("Fez", "Fez", "Meknes"))
            device = (_new_device(rng), _public_ip(rng, COUNTRY))
        elif style < 0.9:  # a new device abroad
            country = rng.choice(_ATTACKER_COUNTRIES)
            city = rng.choice(_FOREIGN_CITIES[country])
            device = (_new_device(rng), _public_ip(rng, country))
        else:  # remote access to the customer's own phone, from abroad
            country = rng.choice(_ATTACKER_COUNTRIES)
            city = rng.choice(_FOREIGN_CITIES[country])
            device = (acct.devices[0], _public_ip(rng, country))
        if rng.random() < 0.3:
            _access(
                out, acct, moment, *device, kind="credentials_reset", country=country, city=city
            )
            moment += rng.randint(60, 900)
        _access(out, acct, moment, *device, country=country, city=city)
        first = moment + rng.randint(15 * 60, 18 * _HOUR)
        if rng.random() < 0.55:  # transfers to payees never paid before
            for _ in range(1 if rng.random() < 0.7 else 2):
                payee = _external(rng, rng.choice(_ABROAD) if rng.random() < 0.3 else COUNTRY)
                cents = (
                    rng.randint(80, 400) * 100_00
                    if rng.random() < 0.6
                    else rng.randint(8_000_00, 40_000_00)
                )
                self._transfer_out(acct, first, cents, payee, device)
                first += rng.randint(300, _HOUR)
        else:  # goods to resell, bought online with the account's card
            for _ in range(rng.randint(2, 4)):
                site = rng.choice(self.resale_sites)
                cents = rng.randint(2_500_00, 12_000_00) // 100 * 100
                self._card(acct, first, cents, site, channel="ecommerce", device=device)
                first += rng.randint(180, 80 * 60)

    def new_phone(self, acct: _Account) -> None:
        """Hard negative: a new phone at home, then the usual small payments."""
        rng = self.rng
        moment = self._quiet_moment(acct, 3, self.days - 2, _CALM)
        self._history(acct, moment)
        device = (_new_device(rng), _private_ip(rng))
        _access(self.out, acct, moment, *device)
        when = moment
        for _ in range(rng.randint(1, 4)):
            when += rng.randint(20 * 60, 5 * _HOUR)
            if rng.random() < 0.8:
                mcc = rng.choice(("5411", "5814", "5812", "5912"))
                merchant = rng.choice(self.pools.merchants[(acct.city, mcc)])
                self._card(
                    acct, when, rng.randint(20, 300) * 100, _merchant(merchant), city=acct.city
                )
            else:
                merchant = rng.choice(self.pools.online)
                self._card(
                    acct,
                    when,
                    rng.randint(30, 300) * 100,
                    _merchant(merchant),
                    channel="ecommerce",
                    device=device,
                )
        self.sessions[acct.account_id] = _Sessions(switch=(moment, *device))

    def traveller(self, acct: _Account) -> None:
        """Hard negative: a trip abroad: logins from there, hotel, train and restaurant bills."""
        rng = self.rng
        length = rng.randint(3, 8)
        last_day = max(3, self.days - length - 2)
        moment = self._quiet_moment(acct, 3, last_day, length * _DAY + _CALM)
        until = min(self.end - 1, moment + length * _DAY)
        country = rng.choice(_TRIP_COUNTRIES)
        city = rng.choice(_FOREIGN_CITIES[country])
        ip = _public_ip(rng, country)
        self._history(acct, moment)
        device = acct.devices[0]
        _access(
            self.out,
            acct,
            moment + rng.randint(600, 3 * _HOUR),
            device,
            ip,
            country=country,
            city=city,
        )
        hotels, rail, food = _TRIP_MERCHANTS[country]
        names = (*hotels, *rail, *food)

        def pay(when: int, mcc: str, name: str, cents: int) -> None:
            merchant = _site(f"TRV{country}", names.index(name), mcc, name, country)
            self._card(acct, when, cents, merchant, city=city, country=country)

        for day in range(length):
            base = moment + day * _DAY
            if base >= until:
                break
            if rng.random() < 0.9:
                pay(
                    _within(rng, base, base + _DAY, 12, 22.5),
                    "5812",
                    rng.choice(food),
                    rng.randint(100, 600) * 100,
                )
        for _ in range(rng.randint(1, 3)):
            pay(_within(rng, moment, until, 7, 21), "4112", rail[0], rng.randint(150, 1_200) * 100)
        pay(
            _within(rng, until - _DAY // 2, until, 7, 12),
            "7011",
            rng.choice(hotels),
            rng.randint(1_500, 9_000) * 100,
        )
        if rng.random() < 0.5:
            self.out.txn(
                acct,
                _within(rng, moment, until, 9, 21),
                "cash_withdrawal",
                "out",
                rng.randint(10, 30) * 100_00,
                channel="atm",
                city=city,
                rng=rng,
                country=country,
            )
        self.trips[acct.account_id] = (moment, until)
        self.sessions[acct.account_id] = _Sessions(trip=(moment, until, country, city, ip))

    def known_payee(self, acct: _Account) -> None:
        """Hard negative: a new phone, then a large transfer to someone paid before (family)."""
        rng = self.rng
        moment = self._quiet_moment(acct, 5, self.days - 2, _CALM)
        surname = acct.name.split(" ", 1)[-1] if not acct.business else rng.choice(_LAST)
        payee = _external(rng, COUNTRY, f"{rng.choice(_FIRST_MALE + _FIRST_FEMALE)} {surname}")
        for _ in range(rng.randint(1, 2)):
            when = _at(rng, rng.randint(0, max(0, moment // _DAY - 3)), 9, 21)
            self._transfer_out(acct, when, rng.randint(10, 60) * 100_00, payee)
        self._history(acct, moment)
        device = (_new_device(rng), _private_ip(rng))
        _access(self.out, acct, moment, *device)
        cents = rng.randint(80, 400) * 100_00
        self._transfer_out(acct, moment + rng.randint(_HOUR, 20 * _HOUR), cents, payee, device)
        self.sessions[acct.account_id] = _Sessions(switch=(moment, *device))

    def _drop_home_traffic_during_trips(self) -> None:
        """A traveller does not also pay at terminals or log in at home while abroad."""
        kept: list[_Record] = []
        for rec in self.out.records:
            trip = self.trips.get(rec.key.decode()) if rec.key is not None else None
            if (
                trip is not None
                and rec.payload is not None
                and trip[0] <= rec.offset < trip[1]
                and rec.payload.get("location", {}).get("country") == COUNTRY
                and rec.payload.get("kind") != "opened"
            ):
                continue
            kept.append(rec)
        self.out.records = kept


# --------------------------------------------------------------------------------------------
# Trafficking red flags, shared identities, OSINT and sanctions matches
# --------------------------------------------------------------------------------------------

#: Morocco keeps UTC+1 all year except during Ramadan (UTC+0): "night", 22:00 to 05:00 Morocco
#: time, is 21:00 to 04:00 UTC.
_NIGHT_START_UTC = 21 * _HOUR
_NIGHT_LENGTH = 7 * _HOUR
# fewest simulated days each new role needs
_MORE_DAYS: dict[str, int] = {
    TRAFFICKING: 15,
    BUSINESS_TRAVELLER: 14,
    NIGHT_SHIFT: 7,
    FAMILY_HOLIDAY: 8,
    TOPUPS_AND_BUS: 10,
    REMITTANCE: 1,
    SHARED_IDENTITY: 1,
    FAMILY: 1,
    TWO_BANKS: 1,
    COUPLE: 1,
    SHARED_IP: 1,
    OSINT: 2,
    EXPIRED_INDICATOR: 2,
    COMMON_NAMES: 1,
    UNKNOWN_PHONE: 1,
}
#: Reporting institution of the second account of a customer banking twice (a hard negative).
_OTHER_INSTITUTION = "TXC-MA"
_OTHER_BANK = "Banque Populaire"

# fmt: off
# online escort, adult-content and classified-ad sites (MCC 7273 dating and escort services,
# 5967 direct-marketing inbound teleservices, 7311 advertising): mcc, name, country
_AD_SITES = (
    ("7273", "RencontresVIP", "MT"), ("7273", "Elite Companions Club", "CY"),
    ("5967", "Prive Live Media", "CY"), ("5967", "NuitRose Tel", "NL"),
    ("7311", "ClassiAds Boost", "EE"), ("7311", "Annonces Massage Premium", "FR"),
)
_AD_PRICES = (99, 149, 199, 250, 300, 450, 500, 750, 990, 1500)  # MAD: listings, boosts
_HOTEL_BRANDS = ("Hotel Ibis", "Kenzi Hotel", "Hotel Atlas", "Riad Dar Salam", "Hotel Relax",
                 "Appart-Hotel Nour")
_RAIL_BRANDS = ("ONCF Gare", "Al Boraq ONCF")  # 4112
_COACH_BRANDS = ("CTM", "Supratours")  # 4131
_TAXI_APPS = ("Careem", "Heetch", "inDrive")  # 4121, paid in the app
_AIRLINES = ("Royal Air Maroc", "Air Arabia Maroc")  # 4511, bought online
_TOPUP_BRANDS = ("Recharge Maroc Telecom", "Recharge inwi", "Recharge Orange")  # 4814 kiosks
_TOPUP_SITES = ("Maroc Telecom Recharge en ligne", "inwi Recharge en ligne")  # 4814 online
# open at night: mcc, name, lowest and highest MAD
_NIGHT_PLACES = (
    ("5813", "Lounge Bar", 150, 1200), ("5813", "Club Le Palace", 200, 1500),
    ("5814", "Snack de Nuit", 30, 150), ("5812", "Restaurant Le Nocturne", 150, 800),
    ("5541", "Station Afriquia 24/24", 100, 500), ("5411", "Epicerie de Nuit", 20, 200),
    ("5912", "Pharmacie de Garde", 30, 300),
)
_AIR_CITIES = ("Casablanca", "Marrakesh", "Agadir", "Tangier", "Fez", "Oujda", "Rabat")
_AREA_CODES = {"Casablanca": "22", "Rabat": "37", "Fez": "35", "Marrakesh": "24",
               "Tangier": "39", "Agadir": "28", "Meknes": "35", "Oujda": "36", "Kenitra": "37",
               "Tetouan": "39"}
# High-risk jurisdictions on trafficking routes through Morocco: FATF increased monitoring
# (October 2024: NG, CM, CD, ML) and conflict situations on the packaged list (SD, SS; Libya,
# a corridor too, is a fragility, not a conflict, situation there). country: banks, payees
_HIGH_RISK_PAYEES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "NG": (("Access Bank", "Zenith Bank", "United Bank for Africa"),
           ("Efosa Omoruyi", "Joy Osagie", "Kingsley Ehigiator", "Precious Idahosa")),
    "CM": (("Afriland First Bank", "Societe Generale Cameroun"),
           ("Jean-Pierre Mballa", "Brigitte Ngono", "Herve Tchoua")),
    "CD": (("Rawbank", "Equity BCDC"), ("Serge Mbuyi", "Christelle Kalonji", "Patrick Ilunga")),
    "ML": (("Banque Malienne de Solidarite", "Ecobank Mali"),
           ("Moussa Coulibaly", "Awa Traore", "Bakary Sangare")),
    "SS": (("Ivory Bank", "Kenya Commercial Bank South Sudan"),
           ("Deng Akol", "Nyandeng Garang", "Mabior Kuol")),
    "SD": (("Bank of Khartoum", "Faisal Islamic Bank"),
           ("Osman Adam Yagoub", "Hawa Abdallah Ishag")),
}
# a migrant worker's family at home, in a country under FATF increased monitoring (Oct 2024):
# country, bank, first names, family names
_REMITTANCE_HOMES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("CI", "Societe Ivoirienne de Banque", ("Kouame", "Adjoua", "Yao", "Affoue"),
     ("Kouassi", "Konan", "NGuessan")),
    ("ML", "Ecobank Mali", ("Mamadou", "Aminata", "Oumar", "Fatoumata"),
     ("Diarra", "Coulibaly", "Sissoko")),
    ("CM", "Afriland First Bank", ("Jean", "Clarisse", "Armand", "Solange"),
     ("Ngo Mbock", "Essomba", "Fotso")),
    ("NG", "Zenith Bank", ("Chinedu", "Ngozi", "Emeka", "Ifeoma"), ("Okeke", "Nwosu", "Eze")),
    ("BF", "Coris Bank International", ("Issouf", "Mariam", "Boukary", "Salimata"),
     ("Ouedraogo", "Sawadogo", "Kabore")),
)
# sites named in fraud and abuse feeds: mcc, name, country (none is a resale MCC)
_FLAGGED_SITES = (
    ("6051", "CoinSwift Exchange", "SC"), ("7995", "RoyalBet Casino en ligne", "CW"),
    ("5999", "GiftKart Online", "HK"), ("5964", "ShopFlash Direct", "CN"),
)
# sites a feed flagged once, long ago (the indicator has expired): mcc, name, country
_FORMERLY_FLAGGED_SITES = (
    ("5999", "Bazar Digital Maroc", "MA"), ("7995", "LotoNet Express", "MT"),
    ("5964", "Promo Direct Achat", "FR"),
)
# people named in news reports and analysts' notes (no simulated customer or payee has these
# names): name, country and bank of their account, typology
_NAMED_PAYEES = (
    ("Blessing Okafor", "NG", "First Bank of Nigeria", "human_trafficking"),
    ("Gift Edosomwan", "NG", "Access Bank", "human_trafficking"),
    ("Hakan Yildirim", "TR", "Ziraat Bankasi", "cybercrime"),
    ("Marco Ferreira Lopes", "ES", "CaixaBank", "cybercrime"),
    ("Vivian Osarenren", "NG", "First Bank of Nigeria", "human_trafficking"),
)
# Real entries of OFAC's SDN list (published 2024-05-03: migrant smugglers of the LIBYA3
# programme, the Zhao Wei transnational criminal organisation behind the Kings Romans casino,
# the Kinahan organised crime group, a cyber-enabled fraudster and a GLOMAG designee born in
# Rabat), each with the spellings payers used: the listed name in "First Last" order, lower
# case, with accents, or an alias from the Remarks. (entry number, listed name, spellings,
# country of the payee's account, bank)
_SDN_PAYEES: tuple[tuple[int, str, tuple[str, ...], str, str], ...] = (
    (24004, "GHERMAY, Ermias", ("Ermias Ghermay", "ERMIAS GHERMAY"), "LY", "Wahda Bank"),
    (24313, "FITWI, Abd al-Razzak", ("abd al-razzak fitwi", "Abd al-Razzâk Fitwi"), "LY",
     "Jumhouria Bank"),
    (24312, "MILAD, Abd al-Rahman (a.k.a. 'al-Bija')", ("Al-Bija", "Abd al-Raḥmān Milād"), "LY",
     "Sahara Bank"),
    (24314, "DABBASHI, Ahmed (a.k.a. 'Amu')", ("Ahmed Dabbashi", "ahmed dabbashi"), "LY",
     "Wahda Bank"),
    (23648, "ZHAO WEI TCO", ("Zhao Wei TCO",), "LA", "Banque pour le Commerce Exterieur Lao"),
    (23652, "KINGS ROMANS INTERNATIONAL (HK) CO., LIMITED",
     ("Kings Romans International (HK) Co., Limited",), "HK", "Hang Seng Bank"),
    (23649, "SU, Guiqin (a.k.a. 'SU, Madame')", ("Guiqin Su", "Madame Su"), "HK",
     "Bank of East Asia"),
    (34979, "KINAHAN ORGANIZED CRIME GROUP (a.k.a. 'KOCG')",
     ("Kinahan Organized Crime Group",), "AE", "Emirates NBD"),
    (28960, "UZUH, Richard Izuchukwu", ("Richard Izuchukwu Uzuh", "richard izuchukwu uzuh"), "NG",
     "Zenith Bank"),
    (29744, "JAMMEH, Zineb Souma Yahya", ("Zineb Souma Yahya Jammeh",), "MA", "CIH Bank"),
)
# common Moroccan names sharing one word with some SDN entry, and nothing more
_COMMON_PAYEES = ("Yassine Berrada", "Mounir Tazi", "Said Bennani", "Abdelkader Lahlou",
                  "Redouane Alaoui", "Zakaria Kettani", "Ahmed Cherkaoui", "Ali Sqalli",
                  "Anas Filali", "Abdelghani Naciri", "Zineb Alaoui", "Khalid Benjelloun",
                  "Mohammed Lamrani", "Fatima Zniber")
# Names the population pools can produce that a fuzzy SDN screen confuses with a listed entry
# (every first x last name and company name of the pools screened against the 2024-05-03
# list: rapidfuzz token-sort ratio >= 88 on accent-folded names without al/el/ben/bin/abu, or
# txmon's watchlist screener at 90; e.g. "Ahmed El Khatib" ~ "AL-KHATIB, Ahmad", "Mehdi El
# Mansouri" ~ "MANSURI, Mehdi", "Rif Transport SARL" ~ "RIF CORPORATION"). With the added
# typologies on, nobody in the population bears them: a screening hit is then an injected one.
_SDN_LOOKALIKES = frozenset({
    "Ahmed Benali", "Ahmed Boukhari", "Ahmed El Khatib", "Ahmed Hajji", "Ahmed Jabri",
    "Ahmed Tahiri", "Anas El Khatib", "Hamza El Mansouri", "Hamza Hajji", "Imane Hajji",
    "Khalid Rami", "Mehdi El Mansouri", "Mohammed Alaoui", "Mohammed Benali", "Mohammed Filali",
    "Mohammed Saidi", "Reda Hajji", "Said Saidi", "Salma Jabri", "Yassine Cherkaoui",
    "Youssef Alaoui",
})
_SDN_LOOKALIKE_WORDS = ("Argan", "Rif")  # company names starting with these
_HT_SOURCES = ("escort-ads-scraper", "analyst:fiu-ma", "ngo-hotline", "news-report")
_CYBER_SOURCES = ("darkweb-forum-monitor", "fraud-abuse-feed", "cert-partner-feed")
# how an OSINT match comes about, in the order they are handed out (SDN payments most often)
_OSINT_KINDS = ("sdn", "phone", "account", "sdn", "email", "merchant", "sdn", "device", "name")
_EXPIRED_KINDS = ("phone", "account", "merchant")
# fmt: on


def _more_shares(config: SimulationConfig) -> tuple[tuple[str, float, float], ...]:
    """(typology, share, hard-negative share) of the typologies added last."""
    return (
        (
            TRAFFICKING,
            config.trafficking_indicators_share,
            config.trafficking_indicators_negative_share,
        ),
        (SHARED_IDENTITY, config.shared_identity_share, config.shared_identity_negative_share),
        (OSINT, config.osint_match_share, config.osint_match_negative_share),
    )


@dataclass(slots=True)
class _MoreCast:
    """Who plays the typologies added last (all ordinary individuals before)."""

    trafficking: list[_Account]
    trafficking_negatives: list[_Account]
    rings: list[tuple[str, list[_Account]]]  # (what links them: document/phone/email/device)
    families: list[list[_Account]]  # head, spouse, adult children
    two_banks: list[tuple[_Account, _Account]]  # one person, an account at each of two banks
    couples: list[tuple[_Account, _Account]]
    shared_ip: list[_Account]
    osint: list[tuple[_Account, str]]  # (account, how it matches: see _OSINT_KINDS)
    osint_also: list[_Account]  # trafficking accounts whose phone is in an escort-ad indicator
    osint_negatives: list[tuple[_Account, str]]  # (account, kind or expired variant)
    remittance_homes: dict[str, int]  # remitter's account id -> index in _REMITTANCE_HOMES


def _cast_more(config: SimulationConfig, cast: _Cast, rng: random.Random) -> _MoreCast:
    """Hand the three added typologies and their hard negatives to ordinary individuals."""
    pool = list(cast.helpers)  # ordinary individuals, by index
    rng.shuffle(pool)
    n, days = config.accounts, config.days
    more = _MoreCast([], [], [], [], [], [], [], [], [], [], {})

    def take(role: str, avoid_names: set[str] | None = None) -> _Account | None:
        for i in range(len(pool) - 1, -1, -1):
            acct = pool[i]
            if avoid_names is None or acct.name not in avoid_names:
                pool.pop(i)
                acct.role = role
                return acct
        return None

    def group(role: str, size: int, distinct: bool) -> list[_Account] | None:
        names: set[str] = set()
        members: list[_Account] = []
        for _ in range(size):
            acct = take(role, names if distinct else None)
            if acct is None:
                for m in members:  # not enough people left: give them back
                    m.role = _ORDINARY
                    pool.append(m)
                return None
            names.add(acct.name)
            members.append(acct)
        return members

    def negative_kinds(typology: str) -> list[str]:
        return [k for k in HARD_NEGATIVES_BY_TYPOLOGY[typology] if days >= _MORE_DAYS[k]]

    _t, share, negative_share = _more_shares(config)[0]
    for _ in range(_count(n, share) if days >= _MORE_DAYS[TRAFFICKING] else 0):
        acct = take(TRAFFICKING)
        if acct is not None:
            more.trafficking.append(acct)
    kinds = negative_kinds(TRAFFICKING)
    for j in range(_count(n, negative_share) if kinds else 0):
        kind = kinds[j % len(kinds)]
        acct = take(kind)
        if acct is not None:
            more.trafficking_negatives.append(acct)
            if kind == REMITTANCE:
                more.remittance_homes[acct.account_id] = rng.randrange(len(_REMITTANCE_HOMES))

    # rings: a counterfeit identity document behind 2-3 names; a phone, e-mail address or
    # device behind 3-5 names (different people, different addresses)
    _t, share, negative_share = _more_shares(config)[1]
    left = max(2, _count(n, share)) if share > 0 else 0
    links = ("document", "phone", "email", "device")
    r = 0
    while left >= 2:
        link = links[r % len(links)]
        low, high = (2, 3) if link == "document" else (3, 5)
        if left < low:
            link, low, high = "document", 2, 3
        size = min(rng.randint(low, high), left)
        if left - size == 1:
            size += 1
        members = group(SHARED_IDENTITY, size, distinct=True)
        if members is None:
            break
        more.rings.append((link, members))
        left -= size
        r += 1
    target = _count(n, negative_share)
    placed, u = 0, 0
    units = (FAMILY, TWO_BANKS, COUPLE)
    while placed < target:
        kind = units[u % len(units)]
        u += 1
        members = group(kind, rng.randint(3, 4) if kind == FAMILY else 2, distinct=True)
        if members is None:
            break
        placed += len(members)
        if kind == FAMILY:
            more.families.append(members)
        elif kind == TWO_BANKS:
            more.two_banks.append((members[0], members[1]))
        else:
            more.couples.append((members[0], members[1]))
    for _ in range(target):  # as many again share a cybercafe's or a carrier's public IP
        acct = take(SHARED_IP)
        if acct is not None:
            more.shared_ip.append(acct)

    _t, share, negative_share = _more_shares(config)[2]
    also = list(more.trafficking)
    for _ in range(_count(n, share) if days >= _MORE_DAYS[OSINT] else 0):
        if also and rng.random() < 0.2:  # the phone of an escort ad
            more.osint_also.append(also.pop(rng.randrange(len(also))))
            continue
        acct = take(OSINT)
        if acct is not None:
            more.osint.append((acct, _OSINT_KINDS[len(more.osint) % len(_OSINT_KINDS)]))
    kinds = negative_kinds(OSINT)
    for j in range(_count(n, negative_share) if kinds else 0):
        kind = kinds[j % len(kinds)]
        acct = take(kind)
        if acct is not None:
            variant = _EXPIRED_KINDS[(j // len(kinds)) % len(_EXPIRED_KINDS)]
            more.osint_negatives.append((acct, variant if kind == EXPIRED_INDICATOR else kind))
    # the others keep helping (paying mules, students, landlords; taking over takeover roles)
    cast.helpers[:] = [a for a in cast.helpers if a.role == _ORDINARY]
    return more


def _lookalike(name: str) -> bool:
    return name in _SDN_LOOKALIKES or name.split(" ", 1)[0] in _SDN_LOOKALIKE_WORDS


def _unlike(name: str) -> str:
    """`name` if no SDN entry resembles it, else the same first name (or trade) with another
    family name (or company word), chosen from `name` alone."""
    if not _lookalike(name):
        return name
    head, tail = name.split(" ", 1)
    index = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    if head in _SDN_LOOKALIKE_WORDS:
        words = [w for w in _COMPANY_WORDS if w not in _SDN_LOOKALIKE_WORDS]
        return f"{words[index % len(words)]} {tail}"
    options = [f"{head} {last}" for last in _LAST if f"{head} {last}" not in _SDN_LOOKALIKES]
    return options[index % len(options)]


def _clear_lookalikes(accounts: list[_Account], pools: _Pools, rng: random.Random) -> None:
    """Rename the customers, employers and suppliers whose names resemble an SDN entry (names
    made later, of landlords or depositors, are renamed in the records by `_More`)."""
    emails = {a.customer["email"] for a in accounts}
    for acct in accounts:
        if not acct.business and _lookalike(acct.name):
            first, last = _unlike(acct.name).split(" ", 1)
            _rename(acct, first, last, rng, emails)
    for parties in (pools.employers, pools.suppliers):
        for k, party in enumerate(parties):
            if _lookalike(party.name):
                parties[k] = _Party(party.account_id, _unlike(party.name), party.bank)


def _email_for(first: str, last: str, rng: random.Random, taken: set[str]) -> str:
    base, domain = f"{_slug(first)}.{_slug(last)}", "@" + rng.choice(_EMAIL_DOMAINS)
    email = base + domain
    while email in taken:
        email = f"{base}{rng.randint(1, 9999)}{domain}"
    taken.add(email)
    return email


def _rename(acct: _Account, first: str, last: str, rng: random.Random, emails: set[str]) -> None:
    acct.name = f"{first} {last}"
    acct.customer["name"] = acct.name
    acct.customer["email"] = _email_for(first, last, rng, emails)


def _move_in(acct: _Account, home: _Account) -> None:
    """`acct` lives at `home`'s address (the very same string)."""
    acct.customer["address"] = home.customer["address"]
    acct.city = home.city


def _rewrite_identities(more: _MoreCast, accounts: list[_Account], rng: random.Random) -> None:
    """Before any traffic is written: the KYC records and devices of rings and negatives.

    Only values change (names, addresses, phones, devices), never how many draws an account's
    own generator makes, so the rest of the population is untouched."""
    phones = {a.customer["phone"] for a in accounts}
    emails = {a.customer["email"] for a in accounts}
    for link, members in more.rings:
        head = members[0]
        if link == "document":  # one counterfeit card number, other names and faces
            for acct in members[1:]:
                acct.customer["id_document"] = head.customer["id_document"]
        elif link == "phone":
            for acct in members[1:]:
                acct.customer["phone"] = head.customer["phone"]
        elif link == "email":
            local, domain = head.customer["email"].split("@", 1)
            for k, acct in enumerate(members[1:]):
                if k % 3 == 0:
                    spelled = head.customer["email"].upper()
                elif k % 3 == 1:
                    spelled = ".".join(p.capitalize() for p in local.split(".")) + "@" + domain
                else:
                    spelled = head.customer["email"]
                acct.customer["email"] = spelled
        else:  # the controller's phone logs in to every account of the ring
            device, ip = _new_device(rng), _public_ip(rng, COUNTRY)
            for acct in members:
                acct.devices = (device, *acct.devices[1:])
                acct.ips = (ip, *acct.ips[1:])
    for members in more.families:
        head, spouse, children = members[0], members[1], members[2:]
        surname = head.name.split(" ", 1)[1]
        taken = {head.name, spouse.name}
        for child in children:
            while True:
                first = rng.choice(_FIRST_MALE + _FIRST_FEMALE)
                if f"{first} {surname}" not in taken and not _lookalike(f"{first} {surname}"):
                    break
            taken.add(f"{first} {surname}")
            _rename(child, first, surname, rng, emails)
        while True:
            landline = f"+2125{_AREA_CODES[head.city]}{rng.randrange(10**6):06d}"
            if landline not in phones:
                phones.add(landline)
                break
        tablet = _new_device(rng)
        home_ip = f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for acct in members:
            _move_in(acct, head)
            acct.customer["phone"] = landline  # the home line on every KYC record
            acct.devices = (acct.devices[0], tablet)
            acct.ips = (acct.ips[0], home_ip)
    for first_acct, second in more.two_banks:
        second.customer = {**first_acct.customer, "customer_id": second.customer["customer_id"]}
        second.name, second.city = first_acct.name, first_acct.city
        second.devices = (first_acct.devices[0], *second.devices[1:])  # one phone, two apps
        second.ips = (first_acct.ips[0], *second.ips[1:])
    for one, other in more.couples:
        _move_in(other, one)
        laptop = _new_device(rng)
        home_ip = f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for acct in (one, other):
            acct.devices = (acct.devices[0], laptop)
            acct.ips = (acct.ips[0], home_ip)
    shared = [_public_ip(rng, COUNTRY) for _ in range(min(3, len(more.shared_ip)))]
    for k, acct in enumerate(more.shared_ip):  # a carrier's NAT or a cybercafe's line
        acct.ips = (shared[k % len(shared)], *acct.ips[1:])
    for account_id, home in more.remittance_homes.items():
        acct = next(a for a in accounts if a.account_id == account_id)
        _country, _bank, firsts, families = _REMITTANCE_HOMES[home]
        _rename(acct, rng.choice(firsts), rng.choice(families), rng, emails)


def _phone_spelling(e164: str, rng: random.Random) -> str:
    """The same number as an ad or a forum would print it (`+212612345678` ->
    `00212 6-12 34 56 78`, ...): equal after E.164 normalisation."""
    d = e164[4:]  # the nine digits after +212
    style = rng.randrange(5)
    if style == 0:
        return f"00212 {d[0]}-{d[1:3]} {d[3:5]} {d[5:7]} {d[7:]}"
    if style == 1:
        return f"+212 {d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:]}"
    if style == 2:
        return f"00212{d}"
    if style == 3:
        return f"(+212) {d[:3]}-{d[3:]}"
    return f"+212.{d[0]}.{d[1:3]}.{d[3:5]}.{d[5:7]}.{d[7:]}"


def _canonical(kind: str, value: str) -> str:
    """How the detectors compare identifiers: E.164 phones, lower-case e-mails, devices and
    merchant ids, case-folded names with single spaces; accounts as they are."""
    text = value.strip()
    if kind == "phone":
        digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
        return "+" + digits[2:] if digits.startswith("00") else digits
    if kind in ("email", "device", "merchant"):
        return text.lower()
    if kind == "name":
        return " ".join(text.casefold().split())
    return text


@dataclass(slots=True)
class _IndicatorPlan:
    """An OSINT indicator to time against the uses of its identifier, once all are written."""

    type: str
    value: str  # as published (another spelling of the identifier)
    typology: str
    accounts: list[str]  # the accounts whose use of it must match (or, expired, must not)
    matches: bool  # False: expired before any of them used it (or nobody uses it)


class _More:
    """Writes the trafficking red flags, OSINT and sanctions matches and their negatives (the
    shared identities are written by `_rewrite_identities` and `reopen`). Draws only from its
    own generator, so the typologies before it are written as they would be without it."""

    def __init__(self, ext: _Extension, cast: _MoreCast, start: datetime, seed: int) -> None:
        self.ext = ext
        self.out = ext.out
        self.days = ext.days
        self.end = ext.end
        self.pools = ext.pools
        self.cast = cast
        self.start = start
        self.rng = random.Random(seed)
        self.plans: list[_IndicatorPlan] = []
        self.thin: list[tuple[str, int, int]] = []  # (account, from, to): few daytime payments
        self.ad_sites = [_site("ADS", n, *site) for n, site in enumerate(_AD_SITES)]
        self.taxi_apps = [
            _site("TAX", n, "4121", name, COUNTRY) for n, name in enumerate(_TAXI_APPS)
        ]
        self.airlines = [_site("AIR", n, "4511", name, COUNTRY) for n, name in enumerate(_AIRLINES)]
        self.recharge = [
            _site("RCH", n, "4814", name, COUNTRY) for n, name in enumerate(_TOPUP_SITES)
        ]
        self.flagged = [_site("FLG", n, *site) for n, site in enumerate(_FLAGGED_SITES)]
        self.formerly = [_site("OLD", n, *site) for n, site in enumerate(_FORMERLY_FLAGGED_SITES)]
        self.sdn_uses = 0
        self.named_uses = 0
        self.common_uses = 0

    # -- small helpers -------------------------------------------------------------------------

    @staticmethod
    def town(code: str, city: str, n: int, mcc: str, brand: str) -> dict[str, Any]:
        return {
            "merchant_id": f"MER-{code}{_CITY_NAMES.index(city):02d}{n:02d}",
            "name": f"{brand} {city}",
            "mcc": mcc,
            "country": COUNTRY,
        }

    def own_device(self, acct: _Account) -> tuple[str, str]:
        return _own_device(self.rng, acct)

    def card(
        self,
        acct: _Account,
        offset: int,
        cents: int,
        merchant: dict[str, Any],
        *,
        city: str | None = None,
        online: bool = False,
        country: str = COUNTRY,
    ) -> None:
        device = self.own_device(acct) if online else None
        self.out.txn(
            acct,
            min(max(offset, 0), self.end - 1),
            "card_payment",
            "out",
            cents,
            channel="ecommerce" if online else "pos",
            city=None if online else city or acct.city,
            rng=self.rng,
            country=country,
            device_id=device[0] if device else None,
            ip=device[1] if device else None,
            extra={"card": {"card_id": acct.card_id, "bin": acct.card_bin}, "merchant": merchant},
        )

    def wire(self, acct: _Account, offset: int, cents: int, party: dict[str, Any]) -> None:
        device_id, ip = self.own_device(acct)
        self.out.txn(
            acct,
            min(max(offset, 0), self.end - 1),
            "transfer",
            "out",
            cents,
            channel=self.rng.choice(("online", "mobile")),
            counterparty=party,
            rng=self.rng,
            device_id=device_id,
            ip=ip,
        )

    def night(self, day: int) -> int:
        """A moment of the night that begins on `day` (22:00 to 05:00 Morocco time)."""
        moment = day * _DAY + _NIGHT_START_UTC + self.rng.randrange(_NIGHT_LENGTH)
        return moment if moment < self.end else moment - _DAY

    def plan(
        self, kind: str, value: str, typology: str, accounts: list[str], matches: bool = True
    ) -> None:
        self.plans.append(_IndicatorPlan(kind, value, typology, accounts, matches))

    # -- driver --------------------------------------------------------------------------------

    def run(self) -> None:
        self.reopen_rings()
        self.second_bank()
        handlers: dict[str, Callable[[_Account], None]] = {
            TRAFFICKING: self.trafficking,
            BUSINESS_TRAVELLER: self.business_traveller,
            NIGHT_SHIFT: self.night_shift,
            FAMILY_HOLIDAY: self.family_holiday,
            TOPUPS_AND_BUS: self.topups_and_bus,
            REMITTANCE: self.remittance,
        }
        first_new = len(self.out.records)
        for acct in self.cast.trafficking + self.cast.trafficking_negatives:
            handlers[acct.role](acct)
        for acct, kind in self.cast.osint:
            self.osint(acct, kind)
        for acct in self.cast.osint_also:
            value = _phone_spelling(acct.customer["phone"], self.rng)
            self.plan("phone", value, "human_trafficking", [acct.account_id])
        for acct, kind in self.cast.osint_negatives:
            self.osint_negative(acct, kind)
        self.thin_daytime(first_new)

    def reopen_rings(self) -> None:
        """A ring's accounts were opened within weeks of each other, at branches of one city."""
        moved: dict[str, tuple[int, str]] = {}
        rng = self.rng
        for link, members in self.cast.rings:
            base = -rng.randint(35, 200) * _DAY
            city = "Fez" if link == "document" and rng.random() < 0.6 else _city(rng)
            for acct in members:
                moved[acct.account_id] = (_at(rng, rng.randint(0, 20), 8.5, 16.5) + base, city)
        for rec in self.out.records:
            if rec.topic != TOPIC_ACCOUNTS or rec.payload is None or rec.key is None:
                continue
            target = moved.get(rec.key.decode())
            if target is not None and rec.payload.get("kind") == "opened":
                rec.offset = target[0]
                rec.payload["location"] = {"country": COUNTRY, "city": target[1]}
                self.ext.opened[rec.payload["account_id"]] = target[0]

    def second_bank(self) -> None:
        """The second account of a customer banking twice is reported by another bank."""
        seconds = {second.account_id for _first, second in self.cast.two_banks}
        for rec in self.out.records:
            p = rec.payload
            if rec.topic != TOPIC_TRANSACTIONS or p is None:
                continue
            if p["account_id"] in seconds:
                p["institution"] = _OTHER_INSTITUTION
            cp = p.get("counterparty")
            if cp and cp.get("account_id") in seconds and cp.get("bank") == INSTITUTION:
                p["counterparty"] = {**cp, "bank": _OTHER_BANK}

    def thin_daytime(self, first_new: int) -> None:
        """Who lives at night pays little by day: most daytime card payments and ATM withdrawals
        of the ordinary traffic leave the night-flagged window."""
        if not self.thin:
            return
        windows = {account: (lo, hi) for account, lo, hi in self.thin}
        kept: list[_Record] = []
        for rec in self.out.records:
            p = rec.payload
            window = (
                windows.get(p["account_id"])
                if p is not None and rec.topic == TOPIC_TRANSACTIONS
                else None
            )
            if (
                window is not None
                and p is not None
                and rec.seq < first_new
                and window[0] <= rec.offset < window[1]
                and p["kind"] in ("card_payment", "cash_withdrawal")
                and not _is_night(rec.offset)
                and self.rng.random() < 0.7
            ):
                continue
            kept.append(rec)
        self.out.records = kept

    # -- trafficking indicators ------------------------------------------------------------------

    def seller(self, mode: str, city: str) -> dict[str, Any]:
        """Where a ticket of `mode` is bought in `city` (rail, coach, taxi app, airline)."""
        rng = self.rng
        if mode == "rail":
            n = rng.randrange(len(_RAIL_BRANDS))
            return self.town("RAIL", city, n, "4112", _RAIL_BRANDS[n])
        if mode == "coach":
            n = rng.randrange(len(_COACH_BRANDS))
            return self.town("BUS", city, n, "4131", _COACH_BRANDS[n])
        return rng.choice(self.taxi_apps if mode == "taxi" else self.airlines)

    def ticket(
        self,
        acct: _Account,
        moment: int,
        mode: str,
        city: str,
        cents: int | None = None,
        seller: dict[str, Any] | None = None,
    ) -> None:
        low, high = {"rail": (45, 400), "coach": (60, 320), "taxi": (25, 150)}.get(
            mode, (450, 2500)
        )
        cents = cents or self.rng.randint(low, high) * 100
        merchant = seller or self.seller(mode, city)
        online = mode in ("taxi", "air")
        self.card(acct, moment, cents, merchant, city=None if online else city, online=online)

    def hotel(self, city: str) -> dict[str, Any]:
        n = self.rng.randrange(len(_HOTEL_BRANDS))
        return self.town("HTL", city, n, "7011", _HOTEL_BRANDS[n])

    def trafficking(self, acct: _Account) -> None:
        """Over 2-4 weeks, four or more of FinCEN's and FATF's red flags together, at least one
        of them strong (escort ads, round wires to high-risk countries, paying for others)."""
        rng = self.rng
        length = rng.randint(14, min(28, self.days - 1))
        first = rng.randint(0, self.days - length)
        days = list(range(first, first + length))
        strong = rng.sample(("ads", "wire", "many"), rng.choice((1, 1, 2, 2, 3)))
        many = rng.choice(("tickets", "tickets", "rooms", "both")) if "many" in strong else ""
        forced = ["transport"] if many in ("tickets", "both") else []
        optional = [w for w in ("hotels", "transport", "topups", "night") if w not in forced]
        need = max(0, 4 - len(strong) - len(forced))
        weak = set(forced) | set(rng.sample(optional, rng.randint(need, len(optional))))
        at_night = "night" in weak
        cities = rng.sample(_CITY_NAMES, rng.randint(3, 5))

        def when(day: int) -> int:
            return self.night(day) if at_night and rng.random() < 0.85 else _at(rng, day, 8, 20)

        if "ads" in strong:  # escort and adult listings, boosted again and again
            sites = rng.sample(self.ad_sites, rng.randint(1, 3))
            for _ in range(rng.randint(2, 6)):
                cents = rng.choice(_AD_PRICES) * 100
                self.card(acct, when(rng.choice(days)), cents, rng.choice(sites), online=True)
        if "hotels" in weak:  # short stays in three to five cities
            for city in cities:
                day = rng.choice(days[:-1])
                nights = rng.randint(1, 3)
                cents = nights * rng.randint(35, 120) * 10_00
                moment = self.night(day) if at_night else _at(rng, day, 12, 19)
                self.card(acct, moment, cents, self.hotel(city), city=city)
        if "transport" in weak:
            for _ in range(rng.randint(4, 8)):
                mode = rng.choice(("rail", "coach", "taxi", "taxi", "air"))
                self.ticket(acct, when(rng.choice(days)), mode, rng.choice(cities))
        if many in ("tickets", "both"):  # three to five tickets at once, on two or three days
            for day in sorted(rng.sample(days, rng.randint(2, 3))):
                mode = rng.choice(("rail", "coach", "air"))
                city = rng.choice(cities)
                price = {"rail": rng.randint(45, 400), "coach": rng.randint(60, 320)}.get(
                    mode, rng.randint(450, 1800)
                )
                moment = when(day)
                seller = self.seller(mode, city)
                for _ in range(rng.randint(3, 5)):
                    self.ticket(acct, moment, mode, city, price * 100, seller)
                    moment += rng.randint(20, 90)
        if many in ("rooms", "both"):  # two or three rooms at one hotel the same night, twice
            for day in sorted(rng.sample(days[:-1], 2)):
                city = rng.choice(cities)
                hotel = self.hotel(city)
                price = rng.randint(30, 90) * 10_00
                moment = self.night(day) if at_night else _at(rng, day, 14, 20)
                for _ in range(rng.randint(2, 3)):
                    self.card(acct, moment, price, hotel, city=city)
                    moment += rng.randint(30, 300)
        if "topups" in weak:  # prepaid top-ups, several a week, and spare SIM cards
            for _ in range(rng.randint(5, 10)):
                day = rng.choice(days)
                cents = rng.choice((20, 30, 50, 50, 100, 100, 200)) * 100
                if rng.random() < 0.6:
                    city = rng.choice([acct.city, *cities])
                    n = rng.randrange(len(_TOPUP_BRANDS))
                    kiosk = self.town("TOP", city, n, "4814", _TOPUP_BRANDS[n])
                    self.card(acct, when(day), cents, kiosk, city=city)
                else:
                    site = rng.choice(self.recharge)
                    self.card(acct, when(day), max(cents, 50_00), site, online=True)
            if rng.random() < 0.5:
                city = rng.choice([acct.city, *cities])
                shop = self.town("GSM", city, 0, "4812", "Boutique GSM")
                for _ in range(rng.randint(1, 3)):
                    self.card(
                        acct, when(rng.choice(days)), rng.choice((30, 50)) * 100, shop, city=city
                    )
        if at_night:  # bars, night snacks, fuel and cash between 22:00 and 05:00
            for _ in range(rng.randint(8, 16)):
                city = rng.choice([acct.city, acct.city, *cities])
                n = rng.randrange(len(_NIGHT_PLACES))
                mcc, brand, low, high = _NIGHT_PLACES[n]
                place = self.town("NIT", city, n, mcc, brand)
                self.card(
                    acct,
                    self.night(rng.choice(days)),
                    rng.randint(low, high) * 100,
                    place,
                    city=city,
                )
            for _ in range(rng.randint(0, 3)):
                self.out.txn(
                    acct,
                    self.night(rng.choice(days)),
                    "cash_withdrawal",
                    "out",
                    rng.choice(_ATM_AMOUNTS) * 100,
                    channel="atm",
                    city=rng.choice([acct.city, *cities]),
                    rng=rng,
                )
            self.thin.append((acct.account_id, first * _DAY, (first + length) * _DAY))
        if "wire" in strong:  # round sums to one to three people in high-risk countries
            parties = []
            for country in rng.sample(sorted(_HIGH_RISK_PAYEES), rng.randint(1, 2)):
                banks, names = _HIGH_RISK_PAYEES[country]
                for name in rng.sample(names, rng.randint(1, 2)):
                    parties.append(_payee(rng, country, name, rng.choice(banks)))
            parties = parties[:3]
            for _ in range(rng.randint(2, 5)):
                unit = rng.choice((500_00, 1000_00))
                cents = rng.randint(2, 10) * unit
                self.wire(acct, when(rng.choice(days)), cents, rng.choice(parties))

    def business_traveller(self, acct: _Account) -> None:
        """Hard negative: trips to three or four cities, one ticket and one room each, late
        dinners; now and then a trip abroad. Nothing paid for anyone else."""
        rng = self.rng
        cities = rng.sample([c for c in _CITY_NAMES if c != acct.city], rng.randint(3, 4))
        day = rng.randint(0, 2)
        for city in cities:
            nights = rng.randint(1, 3)
            if day + nights >= self.days - 1:
                break
            air = city in _AIR_CITIES and acct.city in _AIR_CITIES and rng.random() < 0.4
            mode = "air" if air else "rail"
            self.ticket(acct, _at(rng, day, 6, 9), mode, acct.city)
            for night in range(nights):
                self.ticket(acct, _at(rng, day + night, 17, 20), "taxi", city)
                place = self.town("DIN", city, 0, "5812", "Brasserie du Centre")
                self.card(
                    acct,
                    _at(rng, day + night, 19.5, 22.5),
                    rng.randint(150, 600) * 100,
                    place,
                    city=city,
                )
            checkout = day + nights
            cents = nights * rng.randint(60, 150) * 10_00
            self.card(acct, _at(rng, checkout, 7, 9.5), cents, self.hotel(city), city=city)
            self.ticket(acct, _at(rng, checkout, 10, 16), mode, city)
            day = checkout + rng.randint(1, 4)
        if rng.random() < 0.35 and day + 4 < self.days:
            self.trip_abroad(acct, day)

    def trip_abroad(self, acct: _Account, first_day: int) -> None:
        """A few days abroad (hotel, dinners, logins from there), placed where the account's own
        traffic does nothing that a takeover rule could read as draining."""
        rng = self.rng
        length = rng.randint(2, 4)
        last_day = self.days - length - 1
        if last_day < first_day:
            return
        entries = self.ext.ledger.get(acct.account_id, [])
        for _ in range(40):
            moment = _at(rng, rng.randint(first_day, last_day), 8, 12)
            if _calm(entries, moment - _DAY, moment + length * _DAY + _CALM):
                break
        else:
            return
        until = moment + length * _DAY
        country = rng.choice(("FR", "ES"))
        city = rng.choice(_FOREIGN_CITIES[country])
        ip = _public_ip(rng, country)
        airline = self.airlines[0]
        self.card(
            acct,
            moment - rng.randint(2, 10) * _HOUR,
            rng.randint(1800, 4500) * 100,
            airline,
            online=True,
        )
        _access(
            self.out,
            acct,
            moment + rng.randint(3, 6) * _HOUR,
            acct.devices[0],
            ip,
            country=country,
            city=city,
        )
        hotels, _rail, food = _TRIP_MERCHANTS[country]
        names = (*hotels, *_rail, *food)
        for night in range(length):
            name = rng.choice(food)
            merchant = _site(f"TRV{country}", names.index(name), "5812", name, country)
            when = _within(rng, moment + night * _DAY, moment + (night + 1) * _DAY, 18, 21.5)
            self.card(acct, when, rng.randint(300, 900) * 100, merchant, city=city, country=country)
        name = rng.choice(hotels)
        merchant = _site(f"TRV{country}", names.index(name), "7011", name, country)
        cents = length * rng.randint(120, 250) * 10_00
        self.card(
            acct,
            _within(rng, until - 8 * _HOUR, until, 6, 10),
            cents,
            merchant,
            city=city,
            country=country,
        )
        self.ext.trips[acct.account_id] = (moment, until)
        self.ext.sessions[acct.account_id] = _Sessions(trip=(moment, until, country, city, ip))

    def night_shift(self, acct: _Account) -> None:
        """Hard negative: a nurse or guard on nights: snacks, fuel and pharmacy between 22:00 and
        05:00 most weeks, a ride-hailing taxi to work or home."""
        rng = self.rng
        for day in range(self.days - 1):
            if rng.random() < 0.4:
                continue
            for _ in range(rng.randint(1, 2)):
                n = rng.choice((2, 4, 5, 6))
                mcc, brand, low, high = _NIGHT_PLACES[n]
                place = self.town("NIT", acct.city, n, mcc, brand)
                self.card(acct, self.night(day), rng.randint(low, min(high, 300)) * 100, place)
            if rng.random() < 0.6:
                self.ticket(acct, self.night(day), "taxi", acct.city)

    def family_holiday(self, acct: _Account) -> None:
        """Hard negative: four plane tickets bought together once, one hotel, a week away."""
        rng = self.rng
        booked = rng.randint(0, self.days - 8)
        going = booked + rng.randint(1, 4)
        nights = rng.randint(3, min(6, self.days - 1 - going))
        city = rng.choice([c for c in ("Agadir", "Marrakesh", "Tangier") if c != acct.city])
        airline = rng.choice(self.airlines)
        adult = rng.randint(600, 1800)
        moment = _at(rng, booked, 18, 21.5)
        for fare in (adult, adult, adult * 3 // 4, adult * 3 // 4):  # two adults, two children
            self.card(acct, moment, fare * 100, airline, online=True)
            moment += rng.randint(20, 90)
        for day in range(going, going + nights):
            place = rng.choice(self.pools.merchants[(city, "5812")])
            self.card(
                acct,
                _at(rng, day, 11.5, 20.5),
                rng.randint(250, 900) * 100,
                _merchant(place),
                city=city,
            )
        cents = nights * rng.randint(90, 250) * 10_00  # one family room
        self.card(acct, _at(rng, going + nights, 7, 10), cents, self.hotel(city), city=city)

    def topups_and_bus(self, acct: _Account) -> None:
        """Hard negative: prepaid top-ups at the kiosk and bus rides, all month, at home."""
        rng = self.rng
        for _ in range(rng.randint(5, 10)):
            n = rng.randrange(len(_TOPUP_BRANDS))
            kiosk = self.town("TOP", acct.city, n, "4814", _TOPUP_BRANDS[n])
            cents = rng.choice((10, 20, 20, 30, 50, 100)) * 100
            self.card(acct, _at(rng, rng.randrange(self.days), 8, 20), cents, kiosk)
        bus = self.pools.merchants[(acct.city, "4111")][0]  # Alsa
        for _ in range(rng.randint(6, 15)):
            self.card(
                acct,
                _at(rng, rng.randrange(self.days), 6.5, 19),
                rng.choice((600, 800)),
                _merchant(bus),
            )
        for _ in range(rng.randint(0, 2)):
            self.ticket(acct, _at(rng, rng.randrange(self.days), 7, 17), "coach", acct.city)

    def remittance(self, acct: _Account) -> None:
        """Hard negative: one round sum sent home to family, once."""
        rng = self.rng
        country, bank, firsts, _families = _REMITTANCE_HOMES[
            self.cast.remittance_homes[acct.account_id]
        ]
        surname = acct.name.split(" ", 1)[1]
        party = _payee(rng, country, f"{rng.choice(firsts)} {surname}", bank)
        cents = rng.randint(2, 12) * 500_00
        self.wire(acct, _at(rng, rng.randrange(self.days), 9, 20), cents, party)

    # -- OSINT and sanctions matches -------------------------------------------------------------

    def pay_in_period(self, acct: _Account, party: dict[str, Any], low: int, high: int) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 2)):
            cents = rng.randint(low, high) * 100_00
            self.wire(acct, _at(rng, rng.randrange(self.days), 8, 21), cents, party)

    def buy_online(self, acct: _Account, site: dict[str, Any]) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            cents = rng.randint(15, 250) * 10_00
            self.card(acct, _at(rng, rng.randrange(self.days), 8, 22), cents, site, online=True)

    def osint(self, acct: _Account, kind: str) -> None:
        """An identifier of the account published by an OSINT source (another spelling), or a
        payment to a name on OFAC's SDN list."""
        rng = self.rng
        if kind == "phone":
            typology = "human_trafficking" if rng.random() < 0.7 else "cybercrime"
            value = _phone_spelling(acct.customer["phone"], rng)
            self.plan("phone", value, typology, [acct.account_id])
        elif kind == "email":
            email = acct.customer["email"]
            value = email.upper() if rng.random() < 0.5 else email.capitalize()
            typology = rng.choice(("human_trafficking", "cybercrime"))
            self.plan("email", value, typology, [acct.account_id])
        elif kind == "device":
            self.plan("device", acct.devices[0].upper(), "cybercrime", [acct.account_id])
        elif kind == "account":  # the account an ad or a scam asks deposits to be paid to
            party = _external(rng, COUNTRY)
            self.pay_in_period(acct, party, 5, 40)
            typology = rng.choice(("human_trafficking", "cybercrime"))
            self.plan("account", party["account_id"], typology, [acct.account_id])
        elif kind == "merchant":
            site = rng.choice(self.flagged)
            self.buy_online(acct, site)
            self.plan("merchant", site["merchant_id"].lower(), "cybercrime", [acct.account_id])
        elif kind == "name":
            name, country, bank, typology = _NAMED_PAYEES[self.named_uses % len(_NAMED_PAYEES)]
            self.named_uses += 1
            self.pay_in_period(acct, _payee(rng, country, name, bank), 10, 50)
            value = name.upper() if rng.random() < 0.5 else "  ".join(name.lower().split())
            self.plan("name", value, typology, [acct.account_id])
        else:  # sdn: a payee on the sanctions list, spelled as the payer knew them
            _ent, _listed, spellings, country, bank = _SDN_PAYEES[self.sdn_uses % len(_SDN_PAYEES)]
            spelling = spellings[sum(divmod(self.sdn_uses, len(_SDN_PAYEES))) % len(spellings)]
            self.sdn_uses += 1
            self.pay_in_period(acct, _payee(rng, country, spelling, bank), 10, 80)

    def osint_negative(self, acct: _Account, kind: str) -> None:
        rng = self.rng
        if kind == COMMON_NAMES:  # payees with everyday names, none of them sanctioned
            for _ in range(rng.randint(1, 3)):
                name = _COMMON_PAYEES[self.common_uses % len(_COMMON_PAYEES)]
                self.common_uses += 1
                self.pay_in_period(acct, _external(rng, COUNTRY, name), 3, 30)
        elif kind == UNKNOWN_PHONE:  # one digit off the customer's own phone; nobody's number
            phones = {a.customer["phone"] for a in self.ext.accounts}
            phone = acct.customer["phone"]
            for step in range(1, 10):
                near = phone[:-1] + str((int(phone[-1]) + step) % 10)
                if near not in phones:
                    self.plan("phone", _phone_spelling(near, rng), "human_trafficking", [], False)
                    break
        elif kind == "phone":  # a recycled number: flagged, expired, then given to this customer
            value = _phone_spelling(acct.customer["phone"], rng)
            self.plan("phone", value, "human_trafficking", [acct.account_id], False)
        elif kind == "account":
            party = _external(rng, COUNTRY)
            self.pay_in_period(acct, party, 5, 30)
            self.plan("account", party["account_id"], "cybercrime", [acct.account_id], False)
        else:  # merchant
            site = self.formerly[self.common_uses % len(self.formerly)]
            self.common_uses += 1
            self.buy_online(acct, site)
            self.plan(
                "merchant", site["merchant_id"].lower(), "cybercrime", [acct.account_id], False
            )

    def rename_lookalikes(self) -> None:
        """Counterparties named while the traffic was written (landlords, depositors, payees)
        get a name no SDN entry resembles."""
        for rec in self.out.records:
            p = rec.payload
            cp = p.get("counterparty") if p is not None else None
            if p is not None and cp and isinstance(cp.get("name"), str) and _lookalike(cp["name"]):
                p["counterparty"] = {**cp, "name": _unlike(cp["name"])}

    def indicators(self) -> None:
        """Time each planned indicator against every use of its identifier (all traffic is
        written by now): a match is published before the first use or after the last, and
        expires, if ever, after each account's first use; an expired one expired before any."""
        rng = self.rng
        plans: dict[tuple[str, str], list[_IndicatorPlan]] = {}
        for plan in self.plans:
            plans.setdefault((plan.type, _canonical(plan.type, plan.value)), []).append(plan)
        uses = _identifier_uses(self.out.records, set(plans))
        for key, group in plans.items():
            seen = uses.get(key, {})
            for plan in group:
                firsts = [seen[a][0] for a in plan.accounts if a in seen]
                lasts = [seen[a][1] for a in plan.accounts if a in seen]
                if len(firsts) < len(plan.accounts):
                    raise RuntimeError(f"indicator {key} is not used by {plan.accounts}")
                if not plan.matches:  # whoever else uses it must not match either
                    firsts = [first for first, _last in seen.values()]
                expires: int | None
                if not plan.accounts:  # nobody's identifier
                    observed = rng.randint(-14 * _DAY, self.end - 1)
                    expires = observed + rng.randint(60, 365) * _DAY if rng.random() < 0.5 else None
                elif plan.matches:
                    latest = max(lasts)
                    if rng.random() < 0.5 and latest + _HOUR < self.end - _HOUR:
                        observed = rng.randint(max(latest, -14 * _DAY) + _HOUR, self.end - _HOUR)
                    else:
                        observed = min(firsts) - rng.randint(_HOUR, 90 * _DAY)
                    expires = None
                    if rng.random() < 0.5:
                        expires = max(
                            observed + rng.randint(90, 720) * _DAY,
                            max(firsts) + rng.randint(1, 60) * _DAY,
                        )
                else:  # expired before anyone here used the identifier
                    expires = min(firsts) - rng.randint(1, 120) * _DAY
                    observed = expires - rng.randint(60, 540) * _DAY
                sources = _HT_SOURCES if plan.typology == "human_trafficking" else _CYBER_SOURCES
                payload: dict[str, Any] = {
                    "indicator_id": "",
                    "observed_at": "",
                    "type": plan.type,
                    "value": plan.value,
                    "typology": plan.typology,
                    "source": rng.choice(sources),
                    "confidence": round(rng.uniform(0.5, 0.95), 2),
                }
                if expires is not None:
                    payload["expires_at"] = _rfc3339(self.start + timedelta(seconds=expires))
                self.out.add(TOPIC_INDICATORS, plan.value, observed, payload)


def _payee(rng: random.Random, country: str, name: str, bank: str) -> dict[str, Any]:
    """An account at another bank, anywhere, whose bank the caller knows."""
    account_id = f"EXT-{country}-{rng.randrange(10**10):010d}"
    return {"account_id": account_id, "name": name, "bank": bank, "country": country}


def _is_night(offset: int) -> bool:
    return (offset - _NIGHT_START_UTC) % _DAY < _NIGHT_LENGTH


def _identifier_uses(
    records: list[_Record], wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, tuple[int, int]]]:
    """(type, canonical value) -> account -> (first, last) offset of the events that use it."""
    found: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}

    def use(kind: str, value: Any, account: str, offset: int) -> None:
        if not isinstance(value, str):
            return
        key = (kind, _canonical(kind, value))
        if key in wanted:
            first, last = found.setdefault(key, {}).get(account, (offset, offset))
            found[key][account] = (min(first, offset), max(last, offset))

    for rec in records:
        p = rec.payload
        if p is None or rec.topic == TOPIC_INDICATORS:
            continue
        account = p["account_id"]
        use("device", p.get("device_id"), account, rec.offset)
        customer = p.get("customer")
        if customer:
            use("phone", customer.get("phone"), account, rec.offset)
            use("email", customer.get("email"), account, rec.offset)
            use("name", customer.get("name"), account, rec.offset)
        cp = p.get("counterparty")
        if cp and p.get("kind") == "transfer":
            use("account", cp.get("account_id"), account, rec.offset)
            use("name", cp.get("name"), account, rec.offset)
        merchant = p.get("merchant")
        if merchant:
            use("merchant", merchant.get("merchant_id"), account, rec.offset)
    return found


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


# --------------------------------------------------------------------------------------------
# Anomalies no rule targets (for the isolation forest), and their hard negatives
# --------------------------------------------------------------------------------------------

#: Fewest simulated days for the anomalies: a week and more of ordinary history comes first.
_ANOMALY_DAYS = 10
#: Accounts opened at least this long before the period (an established habit to depart from).
_ESTABLISHED = 30 * _DAY
#: "Well off": a declared monthly income of at least this much (about the top sixth).
_WELL_OFF = 12_000_00

# fmt: off
# Countries on no FATF list and in no armed conflict (detectors/data): banks, people, firms.
# None of these names resembles an SDN entry or an OSINT indicator (see the tests).
_FAR_PAYEES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "FR": (("BNP Paribas", "Credit Agricole", "Societe Generale"),
           ("Julien Moreau", "Claire Lefebvre", "Antoine Girard"),
           ("Negoce Atlantique SAS", "Lumiere Conseil SARL")),
    "ES": (("CaixaBank", "BBVA", "Banco Santander"),
           ("Javier Moreno", "Lucia Navarro", "Pablo Romero"),
           ("Comercial Levante SL", "Distribuciones Sur SL")),
    "IT": (("Intesa Sanpaolo", "UniCredit"), ("Giulia Ricci", "Marco Conti", "Paolo Greco"),
           ("Tessuti Lombardi Srl", "Ceramiche Venete Srl")),
    "BE": (("KBC", "Belfius"), ("Pieter Janssens", "Elise Peeters"), ("Brabant Logistics NV",)),
    "NL": (("ING", "Rabobank"), ("Sanne Bakker", "Daan Visser"), ("Delta Handel BV",)),
    "DE": (("Deutsche Bank", "Commerzbank"), ("Jonas Weber", "Lena Hoffmann"),
           ("Nordwind Handels GmbH", "Rheinland Technik GmbH")),
    "GB": (("Barclays", "Lloyds Bank"), ("Oliver Hughes", "Charlotte Evans"),
           ("Thames Trading Ltd", "Pennine Supplies Ltd")),
    "CA": (("Royal Bank of Canada", "TD Canada Trust"), ("Emily Tremblay", "Nathan Gagnon"),
           ("Laurentian Imports Inc",)),
    "PT": (("Millennium bcp", "Caixa Geral de Depositos"), ("Tiago Almeida", "Ines Carvalho"),
           ("Lusitana Comercio Lda",)),
}
# shops where a card is used in person abroad (jewellery, department stores, electronics,
# fashion; no lodging, transport or telecom): country -> (cities, (mcc, name) ...)
_SPREE_SHOPS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "IT": (("Milan", "Rome"), (("5944", "Gioielleria Duomo"), ("5311", "Grandi Magazzini"),
                               ("5732", "Elettronica Centrale"), ("5651", "Galleria Moda"))),
    "GB": (("London", "Manchester"), (("5944", "Regent Jewellers"), ("5311", "Kingsway Stores"),
                                      ("5732", "Tech Hub Electronics"),
                                      ("5691", "Savile Outfitters"))),
    "DE": (("Munich", "Berlin"), (("5944", "Juwelier Sonnenberg"), ("5311", "Kaufhaus Zentrum"),
                                  ("5732", "Technik Markt"), ("5651", "Modehaus Berg"))),
    "CH": (("Geneva", "Zurich"), (("5944", "Horlogerie du Lac"), ("5311", "Grand Magasin Rive"),
                                  ("5732", "Swiss Digital Store"), ("5651", "Maison Leman"))),
    "NL": (("Amsterdam", "Rotterdam"), (("5944", "Diamant Huis"), ("5311", "Warenhuis Dam"),
                                        ("5732", "Elektro Centrum"), ("5651", "Mode Plaza"))),
}
# Moroccan towns no simulated customer lives in or visits in ordinary life (and none where a
# funnel's cash leaves the country)
_OTHER_TOWNS = ("El Jadida", "Safi", "Essaouira", "Beni Mellal", "Khouribga", "Ouarzazate",
                "Errachidia", "Laayoune", "Taza", "Settat")
_SCHOOLS = ("Groupe Scolaire Al Jabr", "Ecole Internationale Anfa", "Lycee Descartes Rabat",
            "Universite Internationale de Rabat")
_SECOND_HOMES = ("Residence Les Jardins SARL", "Domaine Palmeraie Gestion", "Marina Smir Location")
_CAR_DEALERS = ("Auto Hall", "Sopriam", "Renault Commerce Maroc", "Toyota du Maroc",
                "Univers Motors", "Smeia")
# fmt: on


def _median(values: list[int], default: int) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else default


def _whereabouts(
    records: list[_Record],
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Cities each account was seen in (its own events), and who paid each one by transfer
    (the payee's ``in`` and the payer's ``out`` to an in-house account alike)."""
    places: dict[str, set[str]] = {}
    senders: dict[str, set[str]] = {}
    for rec in records:
        p = rec.payload
        if p is None or rec.topic == TOPIC_INDICATORS:
            continue
        account = p["account_id"]
        city = (p.get("location") or {}).get("city")
        if city:
            places.setdefault(account, set()).add(city)
        cp = p.get("counterparty")
        if rec.topic != TOPIC_TRANSACTIONS or p["kind"] != "transfer" or not cp:
            continue
        if p["direction"] == "in":
            senders.setdefault(account, set()).add(cp.get("account_id") or cp.get("name") or "?")
        elif cp.get("account_id"):
            senders.setdefault(cp["account_id"], set()).add(account)
    return places, senders


class _Anomalies:
    """Behaviour unusual for the account that no rule targets, and its hard negatives.

    Runs once all other traffic is written, on ordinary accounts established before the period
    and not used by the other typologies; draws only from its own generator."""

    def __init__(
        self,
        out: _Emitter,
        cal: _Calendar,
        pools: _Pools,
        accounts: list[_Account],
        opened: dict[str, int],
        busy: set[str],
        rng: random.Random,
    ) -> None:
        self.out = out
        self.days = cal.days
        self.first = max(7, cal.days // 3)  # the first day an anomaly may happen
        self.pools = pools
        self.rng = rng
        self.ledger = _ledger(out.records)
        self.places, self.senders = _whereabouts(out.records)
        self.free = [
            a
            for a in accounts
            if a.role == _ORDINARY
            and a.account_id not in busy
            and opened.get(a.account_id, 0) <= -_ESTABLISHED
        ]
        rng.shuffle(self.free)

    # -- casting ---------------------------------------------------------------------------------

    def _salaried(self, acct: _Account) -> bool:
        return any(
            e.kind == "transfer" and e.direction == "in" and (e.payee or "").startswith("EMP-")
            for e in self.ledger.get(acct.account_id, [])
        )

    def _fits(self, kind: str, acct: _Account, strict: bool) -> bool:
        entries = self.ledger.get(acct.account_id, [])
        if kind == WINDFALL:  # one payer more must keep it far from the mule rule's five
            return (
                acct.business
                and len(self.senders.get(acct.account_id, ())) <= 3
                and any(e.direction == "in" for e in entries)
            )
        if acct.business:
            return False
        if kind in (NIGHT_TRANSFER, EARLY_SALARY):
            outs = any(e.kind == "transfer" and e.direction == "out" for e in entries)
            return self._salaried(acct) and (outs or kind == EARLY_SALARY)
        if kind == CARD_SPREE:
            return sum(e.kind == "card_payment" for e in entries) >= 5
        if kind in (YEARLY_PAYMENT, CAR_PURCHASE):
            return acct.income_cents >= _WELL_OFF or not strict
        return True  # NIGHT_CASH: any individual

    def _take(self, kind: str) -> _Account | None:
        for strict in (True, False):
            for i, acct in enumerate(self.free):
                if self._fits(kind, acct, strict):
                    return self.free.pop(i)
        return None

    def run(self, config: SimulationConfig) -> dict[str, str]:
        """Hand out the roles, write the traffic; return account -> behaviour of the labelled."""
        if self.days < _ANOMALY_DAYS:
            return {}
        shown: dict[str, str] = {}
        cast: list[tuple[_Account, str]] = []
        for j in range(_count(config.accounts, config.anomaly_share)):
            kind = ANOMALY_KINDS[j % len(ANOMALY_KINDS)]
            acct = self._take(kind)
            if acct is not None:
                acct.role = ANOMALY
                shown[acct.account_id] = kind
                cast.append((acct, kind))
        kinds = HARD_NEGATIVES_BY_TYPOLOGY[ANOMALY]
        for j in range(_count(config.accounts, config.anomaly_negative_share)):
            kind = kinds[j % len(kinds)]
            acct = self._take(kind)
            if acct is not None:
                acct.role = kind
                cast.append((acct, kind))
        handlers: dict[str, Callable[[_Account], None]] = {
            NIGHT_TRANSFER: self.night_transfer,
            CARD_SPREE: self.card_spree,
            NIGHT_CASH: self.night_cash,
            WINDFALL: self.pass_through,
            YEARLY_PAYMENT: self.yearly_payment,
            CAR_PURCHASE: self.car_purchase,
            EARLY_SALARY: self.early_salary,
        }
        for acct, kind in cast:
            handlers[kind](acct)
        return shown

    # -- helpers ---------------------------------------------------------------------------------

    def _day(self, last: int | None = None) -> int:
        return self.rng.randint(self.first, self.days - 2 if last is None else last)

    def _before(self, acct: _Account, moment: int) -> list[_Entry]:
        return [e for e in self.ledger.get(acct.account_id, []) if e.offset < moment]

    def _transfer(self, acct: _Account, offset: int, cents: int, party: dict[str, Any]) -> None:
        """A transfer out from the customer's own device (online or in the app)."""
        rng = self.rng
        d = 0 if len(acct.devices) == 1 or rng.random() < 0.75 else 1
        self.out.txn(
            acct,
            offset,
            "transfer",
            "out",
            cents,
            channel=rng.choice(("online", "mobile")),
            counterparty=party,
            rng=rng,
            device_id=acct.devices[d],
            ip=acct.ips[d],
        )

    def _abroad(self, firm: bool | None = None) -> dict[str, Any]:
        """A person or a firm banking in a country on no risk list."""
        rng = self.rng
        country = rng.choice(sorted(_FAR_PAYEES))
        banks, people, firms = _FAR_PAYEES[country]
        firm = rng.random() < 0.3 if firm is None else firm
        return _payee(rng, country, rng.choice(firms if firm else people), rng.choice(banks))

    def _company(self) -> dict[str, Any]:
        """A Moroccan company at another bank, named like no SDN entry."""
        return _external(self.rng, COUNTRY, _unlike(self.pools._company(self.rng)))

    # -- anomalies -------------------------------------------------------------------------------

    def night_transfer(self, acct: _Account) -> None:
        """A salaried customer's one transfer of 30 to 100 times their usual transfer, between
        02:00 and 04:00 Morocco time, to someone abroad they never paid."""
        rng = self.rng
        moment = _at(rng, self._day(), 1.0, 3.0)  # UTC: 02:00 to 04:00 in Morocco (UTC+1)
        usual = _median(
            [
                e.cents
                for e in self._before(acct, moment)
                if e.kind == "transfer" and e.direction == "out"
            ],
            1_000_00,
        )
        cents = max(15_000_00, int(usual * rng.uniform(30, 100))) // 100_00 * 100_00
        self._transfer(acct, moment, cents, self._abroad())

    def card_spree(self, acct: _Account) -> None:
        """The card in person in a country it was never used in: three to five purchases of 20
        to 60 times its usual payment (at least 3,000 MAD) at different shops within an hour."""
        rng = self.rng
        start = _at(rng, self._day(), 9, 18)
        usual = _median(
            [e.cents for e in self._before(acct, start) if e.kind == "card_payment"], 200_00
        )
        country = rng.choice(sorted(_SPREE_SHOPS))
        cities, shops = _SPREE_SHOPS[country]
        c = rng.randrange(len(cities))
        count = rng.randint(3, 5)
        picks = rng.sample(range(len(shops)), min(count, len(shops)))
        picks += [rng.randrange(len(shops)) for _ in range(count - len(picks))]
        times = sorted(start + rng.randint(0, 55 * 60) for _ in range(count))
        for moment, n in zip(times, picks, strict=True):
            mcc, name = shops[n]
            merchant = {
                "merchant_id": f"MER-ABR{country}{c}{n:02d}",
                "name": f"{name} {cities[c]}",
                "mcc": mcc,
                "country": country,
            }
            cents = max(3_000_00, int(usual * rng.uniform(20, 60))) // 10_00 * 10_00
            self.out.txn(
                acct,
                moment,
                "card_payment",
                "out",
                cents,
                channel="pos",
                city=cities[c],
                country=country,
                rng=rng,
                extra={
                    "card": {"card_id": acct.card_id, "bin": acct.card_bin},
                    "merchant": merchant,
                },
            )

    def night_cash(self, acct: _Account) -> None:
        """Five to ten ATM withdrawals over one or two nights, between 00:30 and 05:00 Morocco
        time, in a town the customer was never seen in."""
        rng = self.rng
        seen = self.places.get(acct.account_id, set()) | {acct.city}
        town = rng.choice([t for t in (*_CITY_NAMES, *_OTHER_TOWNS) if t not in seen])
        nights = rng.randint(1, 2)
        total = rng.randint(5, 10)
        counts = [total] if nights == 1 else [total // 2, total - total // 2]
        first = self._day(self.days - 1 - nights)
        for k, count in enumerate(counts):
            moment = (first + k) * _DAY + rng.randint(-_HOUR // 2, 2 * _HOUR)
            for _ in range(count):
                cents = rng.choice((1_000, 1_500, 2_000, 2_000, 2_500, 3_000, 4_000)) * 100
                self.out.txn(
                    acct, moment, "cash_withdrawal", "out", cents, channel="atm", city=town, rng=rng
                )
                moment += rng.randint(3 * 60, 12 * 60)

    def pass_through(self, acct: _Account) -> None:
        """A business paid 40 to 60 times its usual inflow by a payer it never dealt with, and
        90 to 99 % of it paid out in one transfer to a new payee within hours."""
        rng = self.rng
        moment = _at(rng, self._day(), 8, 15)
        usual = _median(
            [e.cents for e in self._before(acct, moment) if e.direction == "in"], 10_000_00
        )
        cents = max(100_000_00, int(usual * rng.uniform(40, 60))) // 1000_00 * 1000_00
        payer = self._abroad(firm=True) if rng.random() < 0.4 else self._company()
        self.out.txn(acct, moment, "transfer", "in", cents, counterparty=payer, rng=rng)
        payee = self._abroad(firm=True) if rng.random() < 0.6 else self._company()
        paid = int(cents * rng.uniform(0.90, 0.99)) // 100_00 * 100_00
        self._transfer(acct, moment + rng.randint(20 * 60, 5 * _HOUR), paid, payee)

    # -- hard negatives --------------------------------------------------------------------------

    def _big_payments(self, acct: _Account, before_day: int) -> None:
        """A big spender's history: three to five transfers of 8,000 to 30,000 MAD to one or two
        people it pays regularly, by day, before the large payment."""
        rng = self.rng
        surname = acct.name.split(" ", 1)[-1]
        payees = [
            _external(rng, COUNTRY, _unlike(f"{rng.choice(_FIRST_MALE + _FIRST_FEMALE)} {surname}"))
            for _ in range(rng.randint(1, 2))
        ]
        for _ in range(rng.randint(3, 5)):
            when = _at(rng, rng.randint(0, max(0, before_day - 1)), 8, 19)
            self._transfer(acct, when, rng.randint(8, 30) * 1000_00, rng.choice(payees))

    def yearly_payment(self, acct: _Account) -> None:
        """Hard negative: a well-off customer with a history of big payments pays a year's rent
        of a holiday home or a year's school fees (40,000 to 150,000 MAD) by day."""
        rng = self.rng
        day = self._day()
        self._big_payments(acct, day)
        name = rng.choice(_SCHOOLS if rng.random() < 0.5 else _SECOND_HOMES)
        party = _external(rng, COUNTRY, name)
        self._transfer(acct, _at(rng, day, 8, 17), rng.randint(40, 150) * 1000_00, party)

    def car_purchase(self, acct: _Account) -> None:
        """Hard negative: a well-off customer with a history of big payments buys a car, paid at
        the branch to a dealer (120,000 to 350,000 MAD)."""
        rng = self.rng
        day = self._day()
        self._big_payments(acct, day)
        dealer = _external(rng, COUNTRY, f"{rng.choice(_CAR_DEALERS)} {acct.city}")
        self.out.txn(
            acct,
            _at(rng, day, 8.5, 16),
            "transfer",
            "out",
            rng.randint(120, 350) * 1000_00,
            channel="branch",
            city=acct.city,
            counterparty=dealer,
            rng=rng,
        )

    def early_salary(self, acct: _Account) -> None:
        """Hard negative: the employer pays the salary a day early (a holiday on payday)."""
        for rec in self.out.records:
            p = rec.payload
            if (
                rec.topic == TOPIC_TRANSACTIONS
                and p is not None
                and p["account_id"] == acct.account_id
                and p["kind"] == "transfer"
                and p["direction"] == "in"
                and str((p.get("counterparty") or {}).get("account_id", "")).startswith("EMP-")
                and rec.offset >= _DAY
            ):
                rec.offset -= _DAY
