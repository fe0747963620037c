"""What validation needs to know about one organization: its currencies, tax jurisdictions, codes.

The RMS states each organization's currencies and tax jurisdictions (``GET /v1/organizations``);
the reason codes, dispositions and fee types are the contract's closed vocabularies
(``docs/rms-api.yaml``). A record that uses anything else cannot be mapped to the ledger, so the
parser quarantines it instead of guessing.

The same context is kept on the organization's row (``settings["rms_profile"]``) so a file
import — which may run while the RMS API is unreachable — validates exactly as a pull would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from desktop.services.core.enums import FeeType
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.money import is_known_currency

__all__ = [
    "KNOWN_DISPOSITIONS",
    "KNOWN_FEE_TYPES",
    "KNOWN_REASON_CODES",
    "PROFILE_KEY",
    "Jurisdiction",
    "OrgContext",
]

#: The contract's ``ReturnLine.reason_code`` enum.
KNOWN_REASON_CODES = frozenset({"DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "CHANGED_MIND",
                                "LATE_DELIVERY", "DEFECTIVE", "SIZE_FIT"})
#: The contract's ``ReturnLine.disposition`` enum.
KNOWN_DISPOSITIONS = frozenset({"RESTOCK", "REFURBISH", "SCRAP", "RETURN_TO_VENDOR"})
#: The contract's ``Fee.type`` enum (the same words as :class:`FeeType`).
KNOWN_FEE_TYPES = frozenset(t.value for t in FeeType)

#: Where an organization's RMS profile lives inside ``Organization.settings``.
PROFILE_KEY = "rms_profile"

_DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Jurisdiction:
    """A tax jurisdiction as the RMS names it; ``rate`` is a fraction (``0.0725`` = 7.25 %)."""

    code: str
    name: str
    rate: Decimal


@dataclass(frozen=True)
class OrgContext:
    """One organization's validation context (see the module docstring)."""

    org_code: str
    currencies: tuple[str, ...]
    jurisdictions: Mapping[str, Jurisdiction] = field(default_factory=dict, hash=False)
    home_currency: str | None = None
    name: str | None = None
    timezone: str | None = None
    country: str | None = None
    reason_codes: frozenset[str] = KNOWN_REASON_CODES
    dispositions: frozenset[str] = KNOWN_DISPOSITIONS
    fee_types: frozenset[str] = KNOWN_FEE_TYPES

    @classmethod
    def from_rms(cls, org: Mapping[str, Any]) -> OrgContext:
        """Build from one ``Organization`` object of ``GET /v1/organizations``.

        Raises:
            NeedsPersonError: the RMS described the organization in a way we cannot use (no
                code, an unknown currency, a malformed tax rate); nothing can be validated
                against it until the RMS is fixed.
        """
        code = org.get("code")
        if not isinstance(code, str) or not code:
            raise NeedsPersonError("The RMS listed an organization without a code",
                                   platform="rms", action="check the organization setup in the RMS")
        currencies = org.get("currencies") or []
        home = org.get("home_currency")
        if isinstance(home, str) and home not in currencies:
            currencies = [home, *currencies]
        bad = [c for c in currencies if not is_known_currency(c)]
        if bad or not currencies:
            raise NeedsPersonError(
                f"The RMS lists currencies {bad or '(none)'} for organization {code}, which are not "
                "ISO 4217 codes", platform="rms", action="correct the organization's currencies in the RMS")
        jurisdictions: dict[str, Jurisdiction] = {}
        for item in org.get("tax_jurisdictions") or []:
            jur = _jurisdiction(item, code)
            jurisdictions[jur.code] = jur
        return cls(org_code=code, currencies=tuple(currencies), jurisdictions=jurisdictions,
                   home_currency=home if isinstance(home, str) else None,
                   name=_opt_str(org.get("name")), timezone=_opt_str(org.get("timezone")),
                   country=_opt_str(org.get("country")))

    def to_profile(self) -> dict[str, Any]:
        """JSON for ``Organization.settings["rms_profile"]`` (rates as decimal strings)."""
        return {
            "code": self.org_code, "name": self.name, "country": self.country,
            "home_currency": self.home_currency, "currencies": list(self.currencies),
            "timezone": self.timezone,
            "tax_jurisdictions": [{"code": j.code, "name": j.name, "rate": format(j.rate, "f")}
                                  for j in self.jurisdictions.values()],
        }

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> OrgContext:
        """The inverse of :meth:`to_profile` (it is the RMS's own shape, so :meth:`from_rms`)."""
        return cls.from_rms(profile)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _jurisdiction(item: object, org_code: str) -> Jurisdiction:
    if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
        raise NeedsPersonError(f"The RMS lists a tax jurisdiction without a code for organization {org_code}",
                               platform="rms", action="correct the organization's tax setup in the RMS")
    rate = item.get("rate")
    if not isinstance(rate, str) or not _DECIMAL_RE.fullmatch(rate):
        raise NeedsPersonError(
            f"The RMS states tax jurisdiction {item['code']} of organization {org_code} with rate "
            f"{rate!r}, which is not a decimal string", platform="rms",
            action="correct the jurisdiction's rate in the RMS")
    try:
        value = Decimal(rate)
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a decimal
        raise NeedsPersonError(f"unreadable tax rate {rate!r}", platform="rms") from None
    return Jurisdiction(code=item["code"], name=str(item.get("name") or item["code"]), rate=value)
