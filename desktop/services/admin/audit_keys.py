"""The audit trail's secret: an HMAC-SHA256 key held in the OS keyring, never in the database or a file.

Keyring entries (service ``returns-ledger-sync``, the token vault's):

- ``audit-key:<id>`` — one per key: 32 random bytes, base64. ``<id>`` is the key's fingerprint
  (:func:`key_id`, 16 hex digits), which every sealed audit entry names, so the chain says which
  key seals it without revealing anything about the key.
- ``audit-key`` — the id of the key this account seals a *new* chain with. It is created on first
  use; a database whose chain is already sealed always uses the key the chain names.

In shared-PostgreSQL mode every account that writes to the shared database needs the chain's key:
an admin moves it with ``returns-ledger audit key export`` / ``audit key import`` (a one-line text,
through a file or a pipe the admin controls). Reading the keyring over D-Bus costs milliseconds,
so keys are cached in memory once read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading

import keyring
import keyring.errors

from desktop.services.auth.vault import KEYRING_SERVICE
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.keyring_calls import steady

__all__ = ["KEYS", "AuditKeyMissing", "AuditKeyring", "key_id", "parse_key_text"]

KEY_BYTES = 32
_CURRENT = "audit-key"
_TEXT_PREFIX = "returns-ledger-audit-key-v1"


def key_id(key: bytes) -> str:
    """A key's public fingerprint (16 hex digits): an HMAC of a fixed label, so it reveals nothing."""
    return hmac.new(key, b"returns-ledger audit key id", hashlib.sha256).hexdigest()[:16]


class AuditKeyMissing(NeedsPersonError):
    """The chain is sealed with a key that is not in this account's keyring."""


def parse_key_text(text: str) -> bytes:
    """The key in an ``audit key export`` text; refuses anything else (wrong format, id that does not match)."""
    parts = text.strip().split(":")
    if len(parts) != 3 or parts[0] != _TEXT_PREFIX:
        raise NeedsPersonError("This is not an exported audit key",
                               action="use the text written by `returns-ledger audit key export`")
    try:
        key = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES or key_id(key) != parts[1]:
        raise NeedsPersonError("The exported audit key is damaged (its fingerprint does not match)",
                               action="export it again and copy the whole line")
    return key


class AuditKeyring:
    """Audit keys in the OS keyring, cached in memory after the first read."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self._service = service
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._creating = threading.Lock()

    def _get(self, user: str) -> str | None:
        try:
            return steady(lambda: keyring.get_password(self._service, user))
        except keyring.errors.KeyringError as exc:
            raise NeedsPersonError("The OS keyring is not available, so the audit trail cannot be sealed or checked",
                                   action="unlock or install a Secret Service / Keychain / Credential Manager"
                                   ) from exc

    def _set(self, user: str, value: str) -> None:
        try:
            steady(lambda: keyring.set_password(self._service, user, value))
        except keyring.errors.KeyringError as exc:
            raise NeedsPersonError("Could not write the audit key to the OS keyring",
                                   action="unlock the keyring") from exc

    def get(self, kid: str) -> bytes | None:
        """The key with fingerprint ``kid``, or None if this keyring does not hold it."""
        with self._lock:
            if kid in self._cache:
                return self._cache[kid]
        raw = self._get(f"{_CURRENT}:{kid}")
        if not raw:
            return None
        try:
            key = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
        if key_id(key) != kid:
            return None  # not the key it claims to be: as good as missing
        with self._lock:
            self._cache[kid] = key
        return key

    def require(self, kid: str) -> bytes:
        key = self.get(kid)
        if key is None:
            raise AuditKeyMissing(
                f"The audit trail of this database is sealed with key {kid}, which is not in your keyring",
                action="ask an admin to run `returns-ledger audit key export` where the key is, then "
                       "`returns-ledger audit key import` on this account")
        return key

    def store(self, key: bytes) -> str:
        """Keep ``key`` in the keyring (idempotent); returns its id."""
        kid = key_id(key)
        if self.get(kid) != key:
            self._set(f"{_CURRENT}:{kid}", base64.b64encode(key).decode("ascii"))
        with self._lock:
            self._cache[kid] = key
        return kid

    def current(self) -> tuple[str, bytes]:
        """The key this account seals a new chain with, created (and kept) on first use."""
        with self._creating:  # two threads sealing their first entries create one key, not two
            kid = self._get(_CURRENT)
            if kid:
                key = self.get(kid)
                if key is not None:
                    return kid, key
            key = secrets.token_bytes(KEY_BYTES)
            kid = self.store(key)
            self._set(_CURRENT, kid)
            return kid, key

    def has_current(self) -> bool:
        kid = self._get(_CURRENT)
        return kid is not None and self.get(kid) is not None

    def import_text(self, text: str, *, make_current: bool = False) -> str:
        """Store the key of an exported text; returns its id. It also becomes the key this account seals
        a new chain with when ``make_current`` is set or the account had none."""
        kid = self.store(parse_key_text(text))
        if make_current or not self.has_current():
            self._set(_CURRENT, kid)
        return kid

    @staticmethod
    def export_text(key: bytes) -> str:
        """One line holding the key and its fingerprint (what ``audit key import`` reads)."""
        return f"{_TEXT_PREFIX}:{key_id(key)}:{base64.b64encode(key).decode('ascii')}"


#: The process's keyring of audit keys (the composition roots and the commands use this one).
KEYS = AuditKeyring()
