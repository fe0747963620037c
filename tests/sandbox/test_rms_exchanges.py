"""The RMS emulator's exchanges (``/rms/generate`` with ``exchanges``): records that state their
replacement goods, each read clean by the app's parser, their refund total net of the replacements,
and the three kinds (even, refund of the difference, charge of it) among them; without the option
the generated returns are exactly what they were."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from desktop.services.core.domain import Settlement, settlement
from desktop.services.rms.context import OrgContext
from desktop.services.rms.parse import parse_return
from tests.helpers.sandbox import SandboxHandle


def _org(sandbox: SandboxHandle, code: str) -> OrgContext:
    orgs = sandbox.rms("GET", "/v1/organizations").json()["organizations"]
    return OrgContext.from_rms(next(o for o in orgs if o["code"] == code))


SPEC = Path(__file__).resolve().parents[2] / "docs" / "rms-api.yaml"
CONTRACT = OpenAPI.from_file_path(str(SPEC))


def _doc(sandbox: SandboxHandle, rid: str) -> dict[str, object]:
    """The return as the RMS answers it, the answer valid under docs/rms-api.yaml."""
    resp = sandbox.rms("GET", f"/v1/returns/{rid}")
    assert resp.status_code == 200, resp.text
    CONTRACT.validate_response(RequestsOpenAPIRequest(resp.request), RequestsOpenAPIResponse(resp))
    doc: dict[str, object] = json.loads(resp.text, parse_float=Decimal)
    return doc


def test_generated_exchanges_state_replacements_and_parse_clean(sandbox: SandboxHandle) -> None:
    ctx = _org(sandbox, "KIWI-NZ")
    ids = sandbox.control("POST", "rms/generate", {"org": "KIWI-NZ", "count": 30, "seed": 5, "exchanges": 1})
    kinds: Counter[Settlement] = Counter()
    for rid in ids["generated"]:
        doc = _doc(sandbox, rid)
        assert doc["refund_method"] == "exchange" and doc["exchange"]
        record, problems = parse_return(doc, ctx)
        assert problems == [] and record is not None, problems
        assert record.replacements and record.refund_total == record.computed_refund()
        kinds[settlement(record, None)] += 1
    assert set(kinds) == {Settlement.EVEN, Settlement.REFUND, Settlement.CHARGE}, kinds


def test_without_the_option_nothing_is_an_exchange_with_replacements(sandbox: SandboxHandle) -> None:
    ids = sandbox.control("POST", "rms/generate", {"org": "ACME-US", "count": 20, "seed": 5})
    assert not any("exchange" in _doc(sandbox, rid) for rid in ids["generated"])
