"""Validation of a mapping set against one connection's reference data (DESIGN.md §6).

Each problem is a :class:`~desktop.services.core.domain.Problem` with a stable ``code``, a ``field``
pointing at the rule (``rules[3].account``) and a message that names the rule, the ledger's
record and what to do, e.g. "Restocking fee → account 455 'Returns Allowance (old)' is archived
in Xero; choose an active Revenue or Sales account". Pure: no database, no network.

Two passes: every rule on its own (its targets exist, are active and fit the component), then
the contexts actually in use (:func:`contexts_for_return`) — each must resolve to a usable
target, so "unmapped" means "a return we hold would not post", not a theoretical gap.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from desktop.services.core.domain import (
    FEE_COMPONENTS,
    Component,
    OrgSettings,
    PostingMode,
    Problem,
    ReturnRecord,
    Settlement,
    goods_debit,
    settlement,
    to_vendor,
)
from desktop.services.mapping.model import (
    COMPONENT_LABELS,
    VENDOR_COMPONENTS,
    MappingTarget,
    MatchContext,
    Rule,
    jurisdiction_key,
)
from desktop.services.mapping.reference import ReferenceSnapshot, vendor_carries
from desktop.services.mapping.resolve import Resolver
from desktop.services.platforms.base import RefRecord
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import LEGACY_PLATFORM, PROFILES, platform_for

__all__ = ["ALLOWED_ACCOUNT_TYPES", "contexts_for_return", "contexts_for_returns", "validate"]

#: platform → component → the account types a rule for it may target (each profile's
#: ``allowed_account_types``; pre-flight checks the mapped accounts against the same lists).
ALLOWED_ACCOUNT_TYPES: dict[str, Mapping[Component, tuple[str, ...]]] = {
    key: profile.allowed_account_types for key, profile in PROFILES.items()}
_BANK_TYPES = frozenset({"Bank", "BANK"})
_COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
#: Components a QBO sales form carries as lines (through an Item): the item must book to the account.
_SALES_LINE = frozenset({Component.MERCHANDISE, Component.RESTOCKING_FEE, Component.RETURN_SHIPPING_CHARGED,
                         Component.OUTBOUND_SHIPPING_REFUNDED, Component.REPLACEMENT})


def _type_word(p: PlatformProfile, t: str) -> str:
    return p.account_type_words.get(t, t)


def _allowed_words(p: PlatformProfile, component: Component) -> str:
    words = [_type_word(p, t) for t in p.allowed_account_types.get(component, ())]
    words = list(dict.fromkeys(words))
    return " or ".join(words) if words else "suitable"


def _a(phrase: str) -> str:
    """``"an Expense"`` / ``"a Bank"``: the article a message needs before ``phrase``."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def _acct(a: RefRecord) -> str:
    return f"account {a.code} '{a.name}'" if a.code else f"account '{a.name}'"


class _Checker:
    def __init__(self, snapshot: ReferenceSnapshot) -> None:
        self.s = snapshot
        self.p = platform_for(snapshot.platform or LEGACY_PLATFORM)
        self.ledger = self.p.short_name
        self.problems: list[Problem] = []

    def add(self, code: str, message: str, field: str | None) -> None:
        self.problems.append(Problem(code, message, field))

    # --- one rule ---------------------------------------------------------------------------

    def rule(self, i: int, rule: Rule) -> None:
        f, what = f"rules[{i}]", rule.describe()
        if rule.currency and rule.currency not in self.s.currencies:
            self.add("currency_not_enabled", f"{what}: currency {rule.currency} is not enabled in {self.ledger} "
                     f"(enabled: {', '.join(sorted(self.s.currencies))}); enable it there or change the rule",
                     f"{f}.currency")
        self.account(f, what, rule)
        self.item(f, what, rule)
        self.tax_code(f, what, rule)
        self.tracking(f, what, rule)

    def account(self, f: str, what: str, rule: Rule) -> None:
        if rule.component in VENDOR_COMPONENTS:
            self.vendor(f, what, rule)
            return
        allowed = _allowed_words(self.p, rule.component)
        if rule.account_id is None:
            needs = rule.component is not Component.TAX and not (self.p.items_book_to_accounts and rule.item_id)
            if needs:
                self.add("missing_account", f"{what} has no account; choose an active {allowed} account",
                         f"{f}.account")
            return
        acct = self.s.accounts.get(rule.account_id)
        if acct is None:
            self.add("unknown_account", f"{what} → account id {rule.account_id} does not exist in {self.ledger} "
                     f"(deleted, or the reference data is stale); refresh the connection and choose an active "
                     f"{allowed} account", f"{f}.account")
            return
        if not acct.active:
            word = self.p.inactive_word
            self.add("inactive_account", f"{what} → {_acct(acct)} is {word} in {self.ledger}; choose an active "
                     f"{allowed} account", f"{f}.account")
        types = self.p.allowed_account_types[rule.component]
        if acct.type not in types:
            word = _type_word(self.p, acct.type or "?")
            self.add("wrong_account_type", f"{what} → {_acct(acct)} is {_a(word)} account; "
                     f"{COMPONENT_LABELS[rule.component].lower()} must go to {_a(allowed)} account", f"{f}.account")
        elif self.p.payments_flag and rule.component in (Component.REFUND, Component.STORE_CREDIT) \
                and acct.type not in self.p.refund_bank_types and not acct.raw.get(self.p.payments_flag):
            self.add("payments_not_enabled", f"{what} → {_acct(acct)} does not accept payments in {self.ledger}; use a "
                     f"bank account, or tick 'Enable payments to this account' on it in {self.ledger}", f"{f}.account")
        if self.p.refuses_system_accounts and acct.raw.get("SystemAccount") and rule.component is not Component.REFUND:
            self.add("system_account", f"{what} → {_acct(acct)} is a {self.ledger} system account that transactions "
                     "cannot post to directly; choose an ordinary account (tax reaches it through the tax type)",
                     f"{f}.account")
        if acct.type in _BANK_TYPES and rule.currency and acct.currency and acct.currency != rule.currency:
            self.add("account_currency_mismatch", f"{what} → {_acct(acct)} holds {acct.currency}, not "
                     f"{rule.currency}; choose a {rule.currency} bank account", f"{f}.account")

    def vendor(self, f: str, what: str, rule: Rule) -> None:
        """A supplier rule names a vendor of the ledger (its id), not an account."""
        who = self.s.vendors.get(rule.account_id or "")
        if rule.account_id is None:
            self.add("missing_vendor", f"{what} names no supplier; choose the {self.ledger} vendor goods go back to "
                     "(Mappings page: drop the Supplier component onto a vendor under Suppliers; or a mapping file "
                     "with `mapping import`)", f"{f}.account")
        elif who is None:
            self.add("unknown_vendor", f"{what} → vendor id {rule.account_id} does not exist in {self.ledger} "
                     "(deleted, or the reference data is stale); refresh the connection and choose an active vendor",
                     f"{f}.account")
        elif not who.active:
            self.add("inactive_vendor", f"{what} → vendor '{who.name}' is {self.p.inactive_word} in {self.ledger}; "
                     "choose an active vendor", f"{f}.account")
        carried = rule.currency or self.s.home_currency  # a rule without a currency carries home-currency returns
        if who is not None and not vendor_carries(self.p, who, carried):
            self.add("vendor_currency_mismatch", f"{what} → vendor '{who.name}' trades in {who.currency} in "
                     f"{self.ledger}, which keeps one currency per vendor, so it cannot take a {carried} return; "
                     f"choose a {carried} vendor, or give the rule currency {who.currency}", f"{f}.account")

    def item(self, f: str, what: str, rule: Rule) -> None:
        if rule.item_id is None:
            return
        item = self.s.items.get(rule.item_id)
        if item is None:
            self.add("unknown_item", f"{what} → item id {rule.item_id} does not exist in {self.ledger}; refresh "
                     "the connection and choose an active item", f"{f}.item")
            return
        if not item.active:
            self.add("inactive_item", f"{what} → item '{item.name}' is inactive in {self.ledger}; choose an active "
                     "item", f"{f}.item")
        if self.p.items_book_to_accounts and rule.account_id and rule.component in _SALES_LINE \
                and item.parent_id != rule.account_id:
            booked = self.s.accounts.get(item.parent_id or "")
            where = _acct(booked) if booked else "no income account"
            mapped = self.s.accounts.get(rule.account_id)
            self.add("item_account_mismatch", f"{what} → item '{item.name}' books to {where}, not to the mapped "
                     f"{_acct(mapped) if mapped else 'account'}; choose an item whose income account is the mapped "
                     "account (or clear the item and one is created)", f"{f}.item")

    def tax_code(self, f: str, what: str, rule: Rule) -> None:
        if rule.tax_code is None:
            if rule.component is Component.TAX:
                juris = f" for {rule.tax_jurisdiction}" if rule.tax_jurisdiction else ""
                self.add("missing_tax_code", f"{what} has no tax code{juris}; choose the {self.ledger} tax "
                         f"{self.p.tax_word} that jurisdiction is filed under",
                         f"{f}.tax_code")
            return
        tax = self.s.tax_codes.get(rule.tax_code)
        if tax is None:
            self.add("unknown_tax_code", f"{what} → tax code {rule.tax_code} does not exist in {self.ledger}; "
                     "refresh the connection and choose an active tax code", f"{f}.tax_code")
        elif not tax.active:
            self.add("inactive_tax_code", f"{what} → tax code '{tax.name}' is inactive in {self.ledger}; choose an "
                     "active tax code", f"{f}.tax_code")

    def tracking(self, f: str, what: str, rule: Rule) -> None:
        seen: set[str] = set()
        for n, ref in enumerate(rule.tracking):
            ff = f"{f}.tracking[{n}]"
            if ref.category_id in seen:
                self.add("duplicate_tracking", f"{what} sets tracking '{ref.category_id}' twice; keep one", ff)
            seen.add(ref.category_id)
            if self.p.tracking_in_categories:
                hit = self.s.find_tracking("option", id=ref.option_id, parent_id=ref.category_id)
            else:
                kind = ref.category_id.lower()
                hit = self.s.find_tracking(kind, id=ref.option_id) if kind in ("class", "department") else None
            if hit is None:
                label = ref.name or ref.option_id
                self.add("unknown_tracking", f"{what} → tracking '{label}' ({ref.category_id}) does not exist in "
                         f"{self.ledger}; refresh the connection and choose an existing option", ff)
            elif not hit.active or (self.p.tracking_in_categories and not self._category_active(ref.category_id)):
                self.add("inactive_tracking", f"{what} → tracking '{hit.name}' is inactive in {self.ledger}; "
                         "choose an active option", ff)
        cap = self.p.max_tracking_categories
        if cap is not None and len(seen) > cap:
            self.add("too_many_tracking", f"{what} sets {len(seen)} tracking categories; {self.ledger} allows "
                     f"{_COUNT_WORDS.get(cap, str(cap))} per line", f"{f}.tracking")

    def _category_active(self, category_id: str) -> bool:
        cat = self.s.find_tracking("category", id=category_id)
        return cat is not None and cat.active

    # --- the set as a whole -----------------------------------------------------------------

    def shadowed(self, rules: Sequence[Rule]) -> None:
        first: dict[tuple[object, ...], int] = {}
        for i, rule in enumerate(rules):
            key = (*rule.match_key, rule.priority)
            if key in first:
                self.add("shadowed_rule", f"{rule.describe()}: rule {i + 1} has the same conditions and priority "
                         f"as rule {first[key] + 1}, so it never applies; delete one or give one a higher priority",
                         f"rules[{i}]")
            else:
                first[key] = i

    def in_use(self, rules: Sequence[Rule], contexts: Iterable[MatchContext]) -> None:
        resolver = Resolver(rules)
        index = {id(r): i for i, r in enumerate(rules)}
        unmapped: dict[Component, list[MatchContext]] = {}
        bad_currencies: set[str] = set()
        for ctx in dict.fromkeys(contexts):
            if ctx.currency and ctx.currency not in self.s.currencies and ctx.currency not in bad_currencies:
                bad_currencies.add(ctx.currency)
                self.add("currency_not_enabled", f"Returns in {ctx.currency} are waiting, but {ctx.currency} is not "
                         f"enabled in {self.ledger}; enable the currency there", None)
            target = resolver.resolve(ctx)
            if target is None:
                unmapped.setdefault(ctx.component, []).append(ctx)
                continue
            winner = resolver.winner(ctx)
            f = f"rules[{index[id(winner)]}]" if winner is not None and id(winner) in index else None
            self._target_fits(ctx, target, f)
            if ctx.component in VENDOR_COMPONENTS and winner is not None:
                self._vendor_fits(ctx, winner, f)
        for component, ctxs in unmapped.items():
            shown = "; ".join(c.describe() for c in ctxs[:3]) + (f"; and {len(ctxs) - 3} more" if len(ctxs) > 3 else "")
            self.add("unmapped", f"{COMPONENT_LABELS[component]} has no rule for returns in use: {shown}; add a rule "
                     f"for {COMPONENT_LABELS[component].lower()} (one without conditions covers them all)", None)

    def _target_fits(self, ctx: MatchContext, target: MappingTarget, f: str | None) -> None:
        if ctx.component is Component.TAX and ctx.tax_jurisdiction and not target.tax_code:
            self.add("missing_tax_code", f"Tax jurisdiction {ctx.tax_jurisdiction} is in use but its rule sets no tax "
                     f"code; choose the {self.ledger} tax code for {ctx.tax_jurisdiction}", f)
        acct = self.s.accounts.get(target.account_id or "")
        if acct is not None and acct.type in _BANK_TYPES and ctx.currency and acct.currency \
                and acct.currency != ctx.currency:
            self.add("account_currency_mismatch", f"{ctx.describe()} → {_acct(acct)} holds {acct.currency}; a "
                     f"{ctx.currency} refund needs a {ctx.currency} bank account — add a rule for currency "
                     f"{ctx.currency}", f)


    def _vendor_fits(self, ctx: MatchContext, rule: Rule, f: str | None) -> None:
        """A waiting return in a currency its Supplier rule's vendor cannot take (the rule's own currency,
        or the home currency for a rule without one, is :meth:`vendor`'s to report)."""
        who = self.s.vendors.get(rule.account_id or "")
        if who is None or not ctx.currency or ctx.currency == (rule.currency or self.s.home_currency) \
                or vendor_carries(self.p, who, ctx.currency):
            return
        self.add("vendor_currency_mismatch", f"{ctx.describe()} → vendor '{who.name}' trades in {who.currency} in "
                 f"{self.ledger}, which keeps one currency per vendor; a {ctx.currency} return to vendor needs a "
                 f"{ctx.currency} vendor — add a Supplier rule for currency {ctx.currency}",
                 f"{f}.account" if f else None)


def _unknown_codes(checker: _Checker, i: int, rule: Rule, vocabulary: Mapping[str, Collection[str]]) -> None:
    for name, known in vocabulary.items():
        value = getattr(rule, name, None)
        if value is None or not known:
            continue
        parts = value.split("+") if name == "tax_jurisdiction" else [value]
        unknown = [p for p in parts if p not in known]
        if unknown:
            label = name.replace("_", " ")
            checker.add("unknown_code", f"{rule.describe()}: the returns system has no {label} {', '.join(unknown)} "
                        f"(it knows {', '.join(sorted(known))}), so this rule never applies; correct the "
                        f"{label}", f"rules[{i}].{name}")


def validate(rules: Sequence[Rule], snapshot: ReferenceSnapshot, in_use: Iterable[MatchContext] = (),
             vocabulary: Mapping[str, Collection[str]] | None = None) -> list[Problem]:
    """Every problem with ``rules`` against ``snapshot``; empty when the set can be saved.

    Args:
        rules: the set to check, in the order the editor shows them (fields say ``rules[i]``).
        snapshot: the connection's reference data.
        in_use: the contexts returns waiting to post need (:func:`contexts_for_returns`).
        vocabulary: match field → the codes the RMS uses (reason codes, dispositions, tax
            jurisdictions…), so a misspelt code that could never match is caught.
    """
    checker = _Checker(snapshot)
    for i, rule in enumerate(rules):
        checker.rule(i, rule)
        if vocabulary:
            _unknown_codes(checker, i, rule, vocabulary)
    checker.shadowed(rules)
    checker.in_use(rules, in_use)
    return checker.problems


# --- what is in use --------------------------------------------------------------------------


def contexts_for_return(ret: ReturnRecord, settings: OrgSettings | None = None) -> list[MatchContext]:
    """The contexts the recipes resolve for one return — the canonical way to build them.

    Merchandise: one per line (its reason code, disposition and the combined key of its
    jurisdictions). Tax: one per jurisdiction, plus the combined key of a line or fee taxed by
    several. Fees: one per fee (the first line's reason code; the fee's own jurisdictions). Refund:
    when the money goes back to the original payment. Clearing: for a return with a label cost
    (Dr expense, Cr clearing), and for every return in daily-summary mode. Returned goods (when the
organization posts them): the inventory or write-off account and cost of goods sold, per line
(its reason code and disposition). This mirrors what the
    posting recipes (``sync/recipes``) resolve.
    """
    base = {"channel": ret.channel, "warehouse": ret.warehouse, "currency": ret.currency}
    out: list[MatchContext] = []
    tax_keys: set[str] = set()
    for line in ret.lines:
        juris = [t.jurisdiction for t in line.taxes]
        key = jurisdiction_key(juris)
        out.append(MatchContext(Component.MERCHANDISE, reason_code=line.reason_code, disposition=line.disposition,
                                tax_jurisdiction=key, **base))
        tax_keys.update(juris)
        if key and len(set(juris)) > 1:
            tax_keys.add(key)
    for line in ret.replacements:  # an exchange's replacement goods: Cr sales, and their tax
        juris = [t.jurisdiction for t in line.taxes]
        key = jurisdiction_key(juris)
        out.append(MatchContext(Component.REPLACEMENT, tax_jurisdiction=key, **base))
        tax_keys.update(juris)
        if key and len(set(juris)) > 1:
            tax_keys.add(key)
    reason = ret.lines[0].reason_code if ret.lines else None
    for fee in ret.fees:
        juris = [t.jurisdiction for t in fee.taxes]
        key = jurisdiction_key(juris)
        out.append(MatchContext(FEE_COMPONENTS[fee.type], reason_code=reason, tax_jurisdiction=key, **base))
        tax_keys.update(juris)
        if key and len(set(juris)) > 1:
            tax_keys.add(key)
    out += [MatchContext(Component.TAX, tax_jurisdiction=k, **base) for k in sorted(tax_keys)]
    how = settlement(ret, settings)
    if how in (Settlement.REFUND, Settlement.CHARGE):  # a charge's difference comes in there
        out.append(MatchContext(Component.REFUND, **base))
    elif how is Settlement.LIABILITY:
        out.append(MatchContext(Component.STORE_CREDIT, **base))
    for line in ret.lines:  # returned goods at cost (organization setting): Dr inventory / write-off, Cr COGS
        if (goods := goods_debit(line, settings)) is not None:
            codes = {"reason_code": line.reason_code, "disposition": line.disposition}
            out += [MatchContext(goods, **codes, **base), MatchContext(Component.COGS, **codes, **base)]
        elif to_vendor(line, settings):  # a vendor credit: the supplier, and the inventory it leaves
            codes = {"reason_code": line.reason_code, "disposition": line.disposition}
            out += [MatchContext(Component.RETURN_TO_VENDOR, **codes, **base),
                    MatchContext(Component.INVENTORY_ASSET, **codes, **base)]
    summary = settings is not None and settings.posting_mode is PostingMode.DAILY_SUMMARY
    if summary or any(FEE_COMPONENTS[f.type] is Component.LABEL_COST for f in ret.fees):
        out.append(MatchContext(Component.CLEARING, **base))  # label cost: Dr expense, Cr clearing
    return out


def contexts_for_returns(returns: Iterable[ReturnRecord], settings: OrgSettings | None = None) -> list[MatchContext]:
    """The distinct contexts of many returns, in first-seen order."""
    seen: dict[MatchContext, None] = {}
    for ret in returns:
        for ctx in contexts_for_return(ret, settings):
            seen.setdefault(ctx, None)
    return list(seen)
