"""What every recipe shares: mapping look-ups that turn gaps into problems, the posting date,
FX, tax jurisdictions → tax codes, and the "pieces" of a return (DESIGN.md §5).

Recipes are pure: (return, resolver, reference snapshot, org settings, fx rates) in,
(documents, problems) out — no database, no HTTP — so the preview, the engine and the benchmark
run the very same code. A missing mapping is a :class:`Problem`, never an exception. The money
rules live in ``arith.py`` (re-exported here for callers that import them from ``common``);
what differs per ledger is asked of ``ctx.platform`` (``base.LedgerRecipes``), never of the
platform's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from desktop.services.core.domain import (
    FEE_COMPONENTS,
    FEE_REFUND_SIGN,
    ClosedPeriodPolicy,
    Component,
    FeeTreatment,
    OrgSettings,
    Problem,
    ReturnRecord,
    Settlement,
    TaxAmount,
    settlement,
)
from desktop.services.core.enums import FeeType
from desktop.services.core.money import Money
from desktop.services.mapping.model import COMPONENT_LABELS, MappingTarget, MatchContext, jurisdiction_key
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.fx import FxRates, FxUse
from desktop.services.pipeline.recipes.arith import (
    LEDGER_TAX,
    ZERO,
    dsum,
    ledger_tax,
    line_net,
    msum,
    percent,
    refund_amount,
    tolerance,
)
from desktop.services.pipeline.recipes.base import LedgerRecipes, platform_for
from desktop.services.pipeline.recipes.shapes import Piece
from desktop.services.platforms.base import RefRecord
from desktop.services.platforms.registry import PROFILES

__all__ = ["LEDGER_TAX", "ZERO", "Ctx", "Piece", "dsum", "is_label", "ledger_tax", "msum", "percent",
           "refund_amount", "resolve_customer", "tolerance"]


@dataclass
class Ctx:
    """One recipe run: inputs, the problems found so far, and memoised look-ups."""

    ret: ReturnRecord
    resolver: Resolver
    snap: ReferenceSnapshot
    settings: OrgSettings
    rates: FxRates | None
    tz: str = "UTC"
    problems: list[Problem] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)
    #: The snapshot's platform: its facts (labels, tax, …) and renderer — one look-up per run.
    platform: LedgerRecipes = field(init=False)

    def __post_init__(self) -> None:
        self.platform = platform_for(self.snap.platform)

    # --- problems --------------------------------------------------------------------------

    def problem(self, code: str, message: str, field_: str | None = None) -> None:
        if (code, message) not in self._seen:
            self._seen.add((code, message))
            self.problems.append(Problem(code, message, field_))

    @property
    def ledger(self) -> str:
        return self.snap.ledger_name if self.snap.platform else "the ledger"

    # --- mapping ---------------------------------------------------------------------------

    def context(self, component: Component, **kw: str | None) -> MatchContext:
        r = self.ret
        return MatchContext(component, channel=r.channel, warehouse=r.warehouse, currency=r.currency, **kw)

    def target(self, ctx: MatchContext, field_: str, *, required: bool = True) -> MappingTarget | None:
        found = self.resolver.resolve(ctx)
        if found is None and required:
            self.problem("unmapped_component",
                         f"No mapping rule covers {ctx.describe()} for organization {self.ret.org_code}: an admin "
                         f"must add a rule for it on the Mappings page, then retry this return.", field_)
        return found

    def tax_target(self, taxes: Sequence[TaxAmount], field_: str) -> MappingTarget | None:
        """The tax code for a set of jurisdictions: the combined rule, else one code all agree on,
        else the most specific jurisdiction whose code extends every other (``US-CA-LA`` ⊃ ``US-CA``)."""
        juris = sorted({t.jurisdiction for t in taxes})
        key = jurisdiction_key(juris)
        if key is None:
            return None
        found = self.resolver.resolve(self.context(Component.TAX, tax_jurisdiction=key))
        if found is not None and found.tax_code:
            return found
        if len(juris) > 1:
            singles = [self.resolver.resolve(self.context(Component.TAX, tax_jurisdiction=j)) for j in juris]
            codes = {s.tax_code for s in singles if s is not None}
            if None not in codes and all(s is not None for s in singles) and len(codes) == 1:
                return singles[0]
            for j, s in zip(juris, singles, strict=True):
                if s is not None and s.tax_code and all(o == j or j.startswith(o + "-") for o in juris):
                    return s
        self.problem("missing_tax_code",
                     f"No {self.ledger} tax code is mapped for tax jurisdiction {key} (organization "
                     f"{self.ret.org_code}): an admin must add a Tax refunded rule for jurisdiction {key} with a "
                     f"tax code on the Mappings page.", field_)
        return None

    def tax_account(self, jurisdiction: str, fallback: MappingTarget | None) -> tuple[str, str]:
        """(id, name) of the tax-payable account of one jurisdiction (for journals and previews)."""
        t = self.resolver.resolve(self.context(Component.TAX, tax_jurisdiction=jurisdiction))
        for cand in (t, fallback):
            if cand is not None and (cand.account_id or cand.account_code):
                return self.account(cand)
        rec = next((a for a in self.snap.accounts.values() if a.active and (
            (a.raw or {}).get("AccountSubType") == "SalesTaxPayable" or (a.raw or {}).get("SystemAccount") == "GST")),
            None)
        return (rec.remote_id, rec.name) if rec else ("", f"Tax payable ({jurisdiction})")

    def acct(self, target: MappingTarget | None) -> tuple[str, str]:
        """:meth:`account`, or ``("", "unmapped")`` for a gap already reported as a problem."""
        return self.account(target) if target is not None else ("", "unmapped")

    def account(self, target: MappingTarget) -> tuple[str, str]:
        """(remote id, display name) of a target's account; a QBO item's income account if only the item."""
        rec: RefRecord | None = None
        if target.account_id:
            rec = self.snap.accounts.get(target.account_id)
        if rec is None and target.account_code:
            rec = self.snap.account_by_code(target.account_code)
        if rec is None and target.item_id and (item := self.snap.items.get(target.item_id)) and item.parent_id:
            rec = self.snap.accounts.get(item.parent_id)
        if rec is not None:
            return rec.remote_id, self.platform.account_label(rec)
        ident = target.account_id or target.account_code or ""
        return ident, f"account {ident or target.item_id or '?'} (not in the cached chart of accounts)"

    def receivable(self) -> tuple[str, str, str | None]:
        """(id, name, code) of the Accounts Receivable account (where customer credit sits)."""
        for a in self.snap.accounts.values():
            raw = a.raw or {}
            if a.type == "Accounts Receivable" or raw.get("SystemAccount") == "DEBTORS":
                return a.remote_id, self.platform.account_label(a), a.code
        return "", "Accounts Receivable", None

    # --- dates and FX ----------------------------------------------------------------------

    def posting_date(self) -> tuple[date, str | None]:
        """The organization-local date of the return's last update; moved to the first open day
        when the period is closed and the organization chose that (the note says so)."""
        day = self.ret.updated_at.astimezone(ZoneInfo(self.tz)).date()
        closed = self.snap.closed_through
        if closed is not None and day <= closed and self.settings.closed_period is ClosedPeriodPolicy.FIRST_OPEN_DAY:
            moved = closed + timedelta(days=1)
            return moved, (f"re-dated from {day.isoformat()} to {moved.isoformat()}: {self.ledger} is closed "
                           f"through {closed.isoformat()}")
        return day, None

    def fx(self, currency: str, day: date) -> FxUse | None:
        if currency == self.snap.home_currency:
            return None
        use = self.rates.lookup(currency, day) if self.rates is not None else None
        if use is None:
            home = self.snap.home_currency
            enter = (f"returns-ledger fx set --org {self.ret.org_code} --currency {currency} --date "
                     f"{day.isoformat()} --rate <{home} per {currency}>")
            where = self.platform.fx_hint(enter)
            self.problem("missing_fx_rate",
                         f"No {currency}→{home} exchange rate is known on or before {day.isoformat()} for return "
                         f"{self.ret.rma_number}: {where}; then retry the return.", "currency")
        return use

    # --- the return as pieces ----------------------------------------------------------------

    def pieces(self, *, fees_as_lines: bool) -> tuple[list[Piece], list[int]]:
        """Merchandise lines, outbound shipping refunded, and — when ``fees_as_lines`` — the
        withheld fees as negative lines. Returns (pieces, indexes of fees left for a journal)."""
        ret = self.ret
        out: list[Piece] = []
        for i, ln in enumerate(ret.lines):
            f = f"lines[{i}]"
            key = jurisdiction_key(t.jurisdiction for t in ln.taxes)
            tgt = self.target(self.context(Component.MERCHANDISE, reason_code=ln.reason_code,
                                           disposition=ln.disposition, tax_jurisdiction=key), f)
            tax_t = self.tax_target(ln.taxes, f"{f}.taxes") if ln.taxes else None
            net = line_net(ln.unit_price, ln.quantity)
            tax = Money(dsum(t.amount.amount for t in ln.taxes), net.currency)
            out.append(Piece(Component.MERCHANDISE, ln.description or ln.sku, ln.quantity, ln.unit_price, net,
                             ln.taxes, tax, tgt, tax_t, key, f))
        reason = ret.lines[0].reason_code if ret.lines else None
        left: list[int] = []
        for i, fee in enumerate(ret.fees):
            sign = FEE_REFUND_SIGN[fee.type]
            if sign == 0 or (sign < 0 and not fees_as_lines):
                left.append(i)
                continue
            f = f"fees[{i}]"
            comp = FEE_COMPONENTS[fee.type]
            key = jurisdiction_key(t.jurisdiction for t in fee.taxes)
            tgt = self.target(self.context(comp, reason_code=reason, tax_jurisdiction=key), f)
            tax_t = self.tax_target(fee.taxes, f"{f}.taxes") if fee.taxes else None
            net = fee.amount if sign > 0 else -fee.amount
            taxes = fee.taxes if sign > 0 else tuple(TaxAmount(t.jurisdiction, t.rate, -t.amount) for t in fee.taxes)
            tax = Money(dsum(t.amount.amount for t in taxes), net.currency)
            out.append(Piece(comp, COMPONENT_LABELS[comp], Decimal(1), net, net, taxes, tax, tgt, tax_t, key, f))
        return out, left

    def fee_target(self, index: int) -> MappingTarget | None:
        fee = self.ret.fees[index]
        reason = self.ret.lines[0].reason_code if self.ret.lines else None
        key = jurisdiction_key(t.jurisdiction for t in fee.taxes)
        return self.target(self.context(FEE_COMPONENTS[fee.type], reason_code=reason, tax_jurisdiction=key),
                           f"fees[{index}]")

    def fees_as_lines(self) -> bool:
        return self.settings.fee_treatment is FeeTreatment.NEGATIVE_LINE

    def settlement(self) -> Settlement:
        """How this return's money moves (the one rule, :func:`~desktop.services.core.domain.settlement`)."""
        return settlement(self.ret, self.settings)

    def refund_target(self) -> MappingTarget | None:
        """The Refund paid account: where a refund leaves — and a dearer exchange's difference comes in."""
        if self.settlement() in (Settlement.REFUND, Settlement.CHARGE):
            return self.target(self.context(Component.REFUND), "refund_method")
        return None

    def store_credit_target(self) -> MappingTarget | None:
        """The store credit liability account; never guessed: unmapped is a problem saying so."""
        found = self.resolver.resolve(self.context(Component.STORE_CREDIT))
        if found is None:
            self.problem("unmapped_component",
                         f"Organization {self.ret.org_code} posts store credit as a liability, but no Store credit "
                         f"liability rule covers return {self.ret.rma_number} ({self.ret.currency}): an admin must "
                         "map the store credit / gift card liability account on the Mappings page (or switch store "
                         "credit back to Accounts Receivable on the Settings page), then retry this return.",
                         "refund_method")
        return found

    def replacement_pieces(self) -> list[Piece]:
        """An exchange's replacement goods as negative pieces: Cr sales (the Exchange replacement sold
        rule) and their tax set against the returned goods' on the same sales form."""
        out: list[Piece] = []
        for i, ln in enumerate(self.ret.replacements):
            f = f"exchange.lines[{i}]"
            key = jurisdiction_key(t.jurisdiction for t in ln.taxes)
            tgt = self.target(self.context(Component.REPLACEMENT, tax_jurisdiction=key), f)
            tax_t = self.tax_target(ln.taxes, f"{f}.taxes") if ln.taxes else None
            net = -line_net(ln.unit_price, ln.quantity)
            taxes = tuple(TaxAmount(t.jurisdiction, t.rate, -t.amount) for t in ln.taxes)
            tax = Money(dsum(t.amount.amount for t in taxes), net.currency)
            out.append(Piece(Component.REPLACEMENT, f"Exchange: {ln.description or ln.sku}", ln.quantity,
                             -ln.unit_price, net, taxes, tax, tgt, tax_t, key, f))
        return out

    def clearing_target(self) -> MappingTarget | None:
        return self.target(self.context(Component.CLEARING), "fees")


def is_label(fee_type: FeeType) -> bool:
    return FEE_COMPONENTS[fee_type] is Component.LABEL_COST


def _norm_name(text: str) -> str:
    return " ".join(text.replace(",", " ").replace(".", " ").split()).casefold()


#: Per-snapshot indexes (by e-mail, by normalised name), so a look-up is O(1) instead of a scan of
#: every customer for every return. Keyed by the identity of the snapshot's customer mapping,
#: which the entry keeps alive so the id cannot be reused while cached.
_CUSTOMER_INDEX: dict[int, tuple[object, dict[str, list[RefRecord]], dict[str, list[RefRecord]]]] = {}


def _customer_index(snap: ReferenceSnapshot) -> tuple[dict[str, list[RefRecord]], dict[str, list[RefRecord]]]:
    key = id(snap.customers)
    hit = _CUSTOMER_INDEX.get(key)
    if hit is not None and hit[0] is snap.customers:
        return hit[1], hit[2]
    by_email: dict[str, list[RefRecord]] = {}
    by_name: dict[str, list[RefRecord]] = {}
    for c in snap.customers.values():
        if c.code and c.code.strip():
            by_email.setdefault(c.code.strip().casefold(), []).append(c)
        by_name.setdefault(_norm_name(c.name), []).append(c)
        suffix = f" ({c.currency})"
        if c.currency and c.name.endswith(suffix):  # "Name (CAD)": the poster's customer for that currency
            by_name.setdefault(_norm_name(c.name[:-len(suffix)]), []).append(c)
    if len(_CUSTOMER_INDEX) >= 8:
        _CUSTOMER_INDEX.clear()
    _CUSTOMER_INDEX[key] = (snap.customers, by_email, by_name)
    return by_email, by_name


def resolve_customer(customer: object, snap: ReferenceSnapshot, currency: str | None = None) -> RefRecord | None:
    """The ledger customer/contact for an RMS customer: exact e-mail (case-insensitive) first,
    then the normalised name; among several hits an active one in ``currency`` wins.

    ``None`` means "create it when posting" — deduplicated by the same rule, so a second return
    of the same person finds the record the first one created.
    """
    email = str(getattr(customer, "email", "") or "").strip().casefold()
    name = _norm_name(str(getattr(customer, "name", "") or ""))
    by_email, by_name = _customer_index(snap)
    hits: list[RefRecord] = list(by_email.get(email, ())) if email else []
    if not hits and name:
        hits = list(by_name.get(name, ()))
    if not hits:
        return None
    hits.sort(key=lambda c: (not c.active, currency is not None and c.currency not in (None, currency)))
    best = hits[0]
    if (currency is not None and best.currency not in (None, currency)
            and (profile := PROFILES.get(snap.platform)) is not None and profile.customer_single_currency):
        # e.g. a QuickBooks customer trades in one currency only: a CAD return cannot credit the
        # USD customer, so the poster creates (or finds) the person's CAD customer instead.
        return None
    return best
