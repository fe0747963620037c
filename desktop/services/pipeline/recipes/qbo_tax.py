"""QuickBooks Online's tax facts: what the recipes must know to predict the tax QBO will book.

- US companies (AST) have the ``TAX``/``NON`` pseudo codes: lines say taxable or not, and one
  combined code per document (``TxnTaxDetail.TxnTaxCodeRef``) names the rate — so a return whose
  lines are taxed under two jurisdiction sets cannot be one QBO document.
- Other countries carry a ``TaxCodeRef`` per line; an untaxed line still needs a code (exempt).
- QBO computes the tax itself — half-up per component rate of the code on the aggregated taxable
  base (``LEDGER_TAX``) — and ignores a client's ``TotalTax``, whatever rate the RMS used.
"""

from __future__ import annotations

from decimal import Decimal

from desktop.services.core.domain import OrgSettings
from desktop.services.core.exact_json import to_decimal
from desktop.services.core.money import minor_units
from desktop.services.mapping.model import COMPONENT_LABELS, jurisdiction_key
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.recipes.arith import ZERO, dsum, ledger_tax, percent
from desktop.services.pipeline.recipes.shapes import Piece, RecipeContext, SalesLine, TaxPrediction


def is_us(snap: ReferenceSnapshot, settings: OrgSettings) -> bool:
    """US sales-tax model (AST): the company has the ``TAX``/``NON`` pseudo codes."""
    model = settings.extra.get("qbo_tax_model")
    if model in ("us", "non_us"):
        return model == "us"
    return "TAX" in snap.tax_codes and "NON" in snap.tax_codes


def code_rates(snap: ReferenceSnapshot, code_id: str | None) -> list[tuple[str, str, Decimal]] | None:
    """(rate id, name, percent) of each component sales rate of a QBO tax code, when cached."""
    rec = snap.tax_codes.get(code_id) if code_id else None
    parts = (rec.raw or {}).get("rls_rates") if rec is not None else None
    if not parts:
        return None
    try:
        return [(str(p["id"]), str(p["name"]), to_decimal(p["rate"], "a tax rate")) for p in parts]
    except (KeyError, TypeError, ValueError):
        return None


def exempt_code(ctx: RecipeContext, piece: Piece | None) -> str | None:
    """The code of an untaxed line: US ``NON``; else the piece's mapped code, the organization's
    ``qbo_exempt_tax_code`` setting, or the company's non-taxable "Exempt" code. The tax rounding
    line (``piece`` None) never takes a mapped code, which could be a taxable one."""
    if is_us(ctx.snap, ctx.settings):
        return "NON"
    if piece is not None and piece.target is not None and piece.target.tax_code:
        return piece.target.tax_code
    configured = ctx.settings.extra.get("qbo_exempt_tax_code")
    if isinstance(configured, str):
        return configured
    for t in ctx.snap.tax_codes.values():
        if t.active and not t.type and t.name.casefold() in ("exempt", "zero-rated", "out of scope"):
            return t.remote_id
    what = f"{piece.description} ({piece.field})" if piece else "The tax rounding line"
    ctx.problem("missing_tax_code",
                f"{what} carries no tax, and QuickBooks needs a tax code on every line of a non-US company: "
                "an admin must map an exempt tax code for "
                f"{COMPONENT_LABELS[piece.component] if piece else 'Merchandise refunded'} on the Mappings "
                "page (or set qbo_exempt_tax_code in the organization's settings).",
                piece.field if piece else "lines")
    return None


def predict_tax(ctx: RecipeContext, lines: list[SalesLine]) -> TaxPrediction:
    """The tax QuickBooks will book per jurisdiction: ``LEDGER_TAX`` on each tax group's base
    (US: the one document code; elsewhere per line code), corrected to the mapped codes' own
    component rates when cached (:func:`_ledger_rates`)."""
    us = is_us(ctx.snap, ctx.settings)
    places = minor_units(ctx.ret.currency)
    bases: dict[str, Decimal] = {}
    rates: dict[tuple[str, str], Decimal] = {}
    taxed_sets: dict[str, str] = {}
    codes: dict[str, str] = {}
    for sl in lines:
        p = sl.piece
        if not p.taxes:
            continue
        if p.juris_key and sl.tax_code:
            codes[p.juris_key] = sl.tax_code
        group = "TAX" if us else (sl.tax_code or "?")
        bases[group] = bases.get(group, ZERO) + p.net.amount
        if us and p.juris_key:
            taxed_sets.setdefault(p.juris_key, p.field)
        for t in p.taxes:
            rates.setdefault((group, t.jurisdiction), percent(t, p.net))
    if us and len(taxed_sets) > 1:
        ctx.problem("unsupported_tax_mix",
                    f"QuickBooks US sales tax applies one combined rate per document, but return "
                    f"{ctx.ret.rma_number} has lines taxed under {' and '.join(sorted(taxed_sets))}: enter this "
                    "return by hand on the Manual entry page, or correct the tax jurisdictions in the RMS.", "lines")
    predicted: dict[str, Decimal] = {}
    for (group, j), pct in rates.items():
        predicted[j] = predicted.get(j, ZERO) + ledger_tax(bases[group], pct, places)
    doc_code = codes.get(next(iter(taxed_sets))) if us and taxed_sets else None
    ok = _ledger_rates(ctx, us, bases, rates, doc_code, predicted, places)
    return TaxPrediction(predicted, ok, doc_code, {"ledger_tax": predicted})


def _ledger_rates(ctx: RecipeContext, us: bool, bases: dict[str, Decimal], rates: dict[tuple[str, str], Decimal],
                  doc_code: str | None, predicted: dict[str, Decimal], places: int) -> bool:
    """Check the mapped codes' own rates against the RMS's and predict QuickBooks' tax from them.

    QuickBooks charges what the *code* says — every component rate of a combined code, each
    rounded half-up on the taxable base — whatever rate the RMS used. A code whose combined rate
    differs from the RMS's (US-WA at 6.5 % mapped to "Seattle, WA" at 10.25 %) would refund the
    customer's tax wrongly: that is a problem for an admin, not a rounding line. With the rates
    known, ``predicted`` is corrected to QuickBooks' figure (one rounding per component rate, a
    cent apart from one rounding of the combined rate); a company whose rates were not cached
    keeps the prediction from the RMS's rates. Returns False when a problem was raised.
    """
    components: dict[str, tuple[Decimal, Decimal]] = {}
    for group, base in bases.items():
        code = doc_code if us else group
        parts = code_rates(ctx.snap, code)
        if parts is None:
            return True
        rms_pct = dsum(pct for (g, _j), pct in rates.items() if g == group)
        code_pct = dsum(pct for _i, _n, pct in parts)
        if rms_pct != code_pct:
            juris = sorted(j for (g, j) in rates if g == group)
            name = ctx.snap.tax_codes[code].name if code and code in ctx.snap.tax_codes else code
            detail = " + ".join(f"{n} {pct.normalize():f} %" for _i, n, pct in parts)
            ctx.problem("tax_rate_mismatch",
                        f"The RMS taxes {' + '.join(juris)} at {rms_pct.normalize():f} % but the {ctx.ledger} tax "
                        f"code mapped for it, \"{name}\", charges {code_pct.normalize():f} % ({detail}): an admin "
                        f"must map tax jurisdiction {jurisdiction_key(juris)} to a code with the RMS's rate on the "
                        "Mappings page.", "lines")
            return False
        for rid, _name, pct in parts:
            prev = components.get(rid, (pct, ZERO))
            components[rid] = (pct, prev[1] + base)
    if not components or not predicted:
        return True
    ledger_total = dsum(ledger_tax(base, pct, places) for pct, base in components.values())
    last = list(predicted)[-1]
    predicted[last] += ledger_total - dsum(predicted.values())
    return True
