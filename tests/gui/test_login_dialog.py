"""The embedded sign-in dialog against the sandbox's real consent pages, in real QtWebEngine."""

from __future__ import annotations

import uuid
from typing import Any

import keyring
import pytest
from pytestqt.qtbot import QtBot

from desktop.services.auth.oauth import Callback, ClientCredentials, OAuthClient
from desktop.services.auth.platforms import Environment, Platform, endpoints
from desktop.services.auth.signin import Report, SignIn
from desktop.services.auth.vault import KEYRING_SERVICE, TokenResult, TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.platforms.base import RefKind
from desktop.services.platforms.http import LedgerHttp, Throttle
from desktop.services.platforms.qbo.connector import QboConnector
from desktop.services.platforms.xero.connector import XeroConnector, list_tenants
from desktop.views.login_dialog import LoginDialog
from tests.helpers.sandbox import SandboxHandle


def _sign_in(sandbox: SandboxHandle, platform: Platform, vault: TokenVault, cid: str) -> SignIn[Any]:
    info = sandbox.info[platform.value]
    eps = endpoints(platform, Environment.LOCAL, sandbox_url=sandbox.control_url.rsplit("/_sandbox", 1)[0])
    creds = (ClientCredentials(info["client_id"], info["client_secret"]) if platform is Platform.QBO
             else ClientCredentials(info["pkce_client_id"]))

    def finish(client: OAuthClient, callback: Callback, tokens: TokenResult, report: Report) -> Any:
        vault.store_token_result(cid, tokens)
        http = LedgerHttp(throttle=Throttle(60, 5), token=lambda rejected: vault.access_token(
            cid, client.refresh, rejected=rejected))
        if platform is Platform.QBO:
            assert callback.realm_id
            connector: Any = QboConnector(http, eps.api_base_url, callback.realm_id)
        else:
            assert eps.connections_url
            tenant = list_tenants(http, eps.connections_url)[0]["tenantId"]
            connector = XeroConnector(http, eps.api_base_url, tenant)
        report("Reading the chart of accounts…")
        return connector.company_info(), connector.reference_data([RefKind.ACCOUNT])[RefKind.ACCOUNT]

    return SignIn(lambda uri: OAuthClient(eps, creds, uri, SystemClock()), info["redirect_uri"], finish)


@pytest.mark.parametrize(("platform", "button", "name"), [
    (Platform.QBO, "connect", "Acme Outdoor Supply Inc."),
    (Platform.XERO, "allow", "Kiwi Cycles Ltd"),
], ids=["qbo", "xero"])
def test_embedded_sign_in_intercepts_the_redirect_and_stores_tokens(
        qtbot: QtBot, sandbox: SandboxHandle, platform: Platform, button: str, name: str) -> None:
    vault = TokenVault(SystemClock())
    cid = f"gui-{uuid.uuid4().hex[:8]}"
    dialog = LoginDialog(_sign_in(sandbox, platform, vault, cid), title="Connect")
    qtbot.addWidget(dialog)
    try:
        with qtbot.waitSignal(dialog.view.loadFinished, timeout=30000) as loaded:
            dialog.show()
        assert loaded.args == [True]
        # The real consent page is showing: read it, then press its button as a person would.
        with qtbot.waitCallback(timeout=10000) as title_cb:
            dialog.page.runJavaScript("document.title + ' | ' + document.body.innerText", 0, title_cb)
        assert name in title_cb.args[0]
        if platform is Platform.XERO:
            dialog.page.runJavaScript(
                "document.querySelectorAll('input[name=tenant]').forEach((b, i) => b.checked = i === 0)")
        seen_at_finish: list[str] = []
        dialog.finished_ok.connect(lambda _: seen_at_finish.append(dialog.view.url().host()))
        with qtbot.waitSignal(dialog.finished_ok, timeout=30000) as done:
            dialog.page.runJavaScript(f"document.getElementById('{button}').click()")
        info, accounts = done.args[0]
        assert info.name == name
        assert len(accounts) >= 10
        assert keyring.get_password(KEYRING_SERVICE, f"grant:{cid}") is not None
        # The redirect never loaded: the page was still the provider's, not our callback host.
        assert seen_at_finish == ["127.0.0.1"]
    finally:
        vault.forget(cid)


def test_declining_consent_shows_why_and_connects_nothing(qtbot: QtBot, sandbox: SandboxHandle) -> None:
    vault = TokenVault(SystemClock())
    cid = f"gui-{uuid.uuid4().hex[:8]}"
    dialog = LoginDialog(_sign_in(sandbox, Platform.QBO, vault, cid), title="Connect")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.view.loadFinished, timeout=30000):
        dialog.show()
    dialog.page.runJavaScript("document.getElementById('cancel').click()")
    qtbot.waitUntil(lambda: "Not connected" in dialog.status.text(), timeout=20000)
    assert "did not grant access" in dialog.status.text()
    assert dialog.result_value is None
    assert keyring.get_password(KEYRING_SERVICE, f"grant:{cid}") is None
