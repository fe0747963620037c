"""Local receivers for the alert tests: an SMTP server that requires STARTTLS and a login
(aiosmtpd, with a throwaway self-signed certificate made here), a webhook receiver, and a keyring
service name of a test's own. ``tests/integration/conftest.py`` makes them fixtures."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import keyring
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER, SMTP_PASSWORD = "alerts@example.test", "smtp-pa55word-never-in-mail"


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def body_of(msg: Message) -> str:
    """The decoded text of a single-part message."""
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@dataclass
class Mailbox:
    host: str
    port: int
    ca_file: str
    messages: list[Message] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, n: int = 1, timeout: float = 10.0) -> list[Message]:
        """The messages once ``n`` have arrived (woken by each delivery), or what came within ``timeout``."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= n, timeout)
            return self.messages


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.box.arrived:
            self.box.raw.append(envelope.content)
            self.box.messages.append(message_from_bytes(envelope.content))
            self.box.arrived.notify_all()
        return "250 Message accepted for delivery"


@contextmanager
def smtp_mailbox(directory: Path) -> Iterator[Mailbox]:
    """An SMTP server on loopback that requires STARTTLS before anything, and a login after it."""
    cert, key = make_cert(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox("127.0.0.1", 0, str(cert))

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == SMTP_USER and \
            data.password.decode() == SMTP_PASSWORD
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port, tls_context=context,
                            require_starttls=True, auth_required=True, authenticator=authenticator)
    # aiosmtpd warns about its own deprecated Session.login_data on every AUTH: the test server's
    # noise, not the app's, so its logger only reports errors here.
    smtp_log = logging.getLogger("mail.log")
    level = smtp_log.level
    smtp_log.setLevel(logging.ERROR)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
        smtp_log.setLevel(level)


@dataclass
class Hooks:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def webhook_receiver() -> Iterator[Hooks]:
    """A local endpoint that records every JSON body POSTed to it (amounts as Decimal)."""
    hooks = Hooks("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hooks.received.append(json.loads(body, parse_float=Decimal))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hooks.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/secretpart"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def keyring_service() -> Iterator[str]:
    """A keyring service name of this test's own; everything :func:`remember`-ed under it is removed afterwards."""
    name = f"rls-test-alerts-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        for user in _USERS.pop(name, []):
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(name, user)


_USERS: dict[str, list[str]] = {}


def remember(service: str, user: str) -> None:
    """``user`` was stored under the test's keyring ``service``: remove it when the test ends."""
    _USERS.setdefault(service, []).append(user)
