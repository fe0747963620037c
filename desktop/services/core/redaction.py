"""Masking secrets: the one rule for what may never be shown, logged, stored or exported.

:func:`redact` masks values under secret-looking keys (``refresh_token``, ``X-Api-Key``…) anywhere in
nested data; :func:`redact_text` masks credentials inside free text (auth schemes, ``key=value``
pairs — URL-encoded too —, quoted values with spaces, credential header lines, passwords in URLs).
Events, log handlers, stored errors and exports all go through these two
(:mod:`desktop.services.core.events` re-exports them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_flat", "redact_text"]

REDACTED = "***"

#: Fragments of (normalised: lower-case, no ``-``/``_``/space) key names whose values are secret.
_SECRET_KEY_PARTS = ("token", "secret", "password", "passwd", "passphrase", "authorization",
                     "apikey", "codeverifier", "cookie", "credential", "privatekey", "sessionid")
#: Exact normalised keys that are secret though too short to match by fragment (OAuth ``code``).
_SECRET_KEYS_EXACT = frozenset({"code", "authcode", "authorizationcode", "pwd", "auth"})
#: Keys that contain a fragment above but are not secret (QBO's optimistic-locking ``SyncToken``,
#: OAuth's ``token_type``, expiry durations) — masking them would only hide debugging facts.
_NOT_SECRET_SUFFIXES = ("expiresin", "expiresat", "expiry", "tokentype")
_NOT_SECRET_KEYS = frozenset({"synctoken"})

_AUTH_SCHEME_RE = re.compile(r"\b(Bearer|Basic)(\s+)([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_SECRET_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|code_verifier|password|passwd|api_key|apikey|token|secret"  # noqa: S105 - field names
)
#: A quoted secret value may hold spaces: ``password="my secret phrase"`` masks all of it.
_QUOTED_VALUE_RE = re.compile(
    rf"""(?P<key>(?<![A-Za-z0-9_])(?:{_SECRET_NAMES})(?P<q1>["']?)\s*[:=]\s*(?P<q>["']))(?P<value>.*?)(?P=q)""",
    re.IGNORECASE)
_KEY_VALUE_RE = re.compile(
    rf"""(?P<key>(?<![A-Za-z0-9_])(?:
            (?:{_SECRET_NAMES})["']?\s*[:=]\s*["']?
          | code=)  # OAuth's ?code=… only: "error code: 6000" is a fact worth keeping
        )(?P<value>[^\s"'&,;}}]+)""",
    re.IGNORECASE | re.VERBOSE,
)
#: The same pairs URL-encoded (``refresh_token%3D…`` inside an encoded query or form body).
_ENCODED_PAIR_RE = re.compile(rf"(?P<key>(?<![A-Za-z_])(?:{_SECRET_NAMES}|code)%3D)(?P<value>(?:(?!%26)[^\s&\"'])+)",
                              re.IGNORECASE)
#: A header line whose name says it carries a credential (``X-Api-Key: …``, ``Cookie: …``): the
#: whole value is masked, spaces and all.
_HEADER_LINE_RE = re.compile(
    r"(?im)^(?P<key>[ \t]*[A-Za-z0-9-]*(?:api-?key|token|secret|authorization|cookie|password|credential)"
    r"[A-Za-z0-9-]*[ \t]*:[ \t]*)(?P<value>\S.*)$")
#: What every pattern of :func:`redact_text` needs somewhere in the text (a ``:`` or ``=``, ``%3D``,
#: or an auth scheme's name): text without any of it has nothing to mask.
_MAY_HOLD_SECRET = re.compile(r"[:=]|%3d|bearer|basic", re.IGNORECASE)
#: A password in a URL, up to the LAST ``@`` of the authority (a password may contain ``@``).
_URL_USERINFO_RE = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)(?P<pw>[^/\s]+)(?=@[^@/\s]*(?:[/\s?#]|$))",
                              re.IGNORECASE)
#: In free text, ``code=…`` is OAuth's authorization code when it sits in a query string or looks
#: like one (long, no spaces); a platform's error code ("code=6000") stays readable.
_OAUTH_CODE_MIN = 20
#: Keys (normalised) beside ``code`` that make a mapping an OAuth callback or token request, the
#: only place ``code`` is a secret; beside a mere hint it is masked when it looks issued. Elsewhere
#: it is a platform's error code or a problem code ("account_currency_mismatch") a person must read.
_OAUTH_SIBLINGS = frozenset({"granttype", "redirecturi", "codeverifier", "codechallenge", "clientid",
                             "clientsecret", "sessionstate", "realmid"})
_OAUTH_HINTS = frozenset({"state", "scope"})


@functools.lru_cache(maxsize=4096)  # a handful of keys, asked about for every event
def _normalise_key(key: str) -> str:
    return re.sub(r"[\s_\-]", "", key).lower()


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True if values under ``key`` must never be shown (``refresh_token``, ``X-Api-Key``…)."""
    k = _normalise_key(key)
    if k in _NOT_SECRET_KEYS or k.endswith(_NOT_SECRET_SUFFIXES):
        return False
    return k in _SECRET_KEYS_EXACT or any(part in k for part in _SECRET_KEY_PARTS)


def _mask_scheme(match: re.Match[str]) -> str:
    scheme, space, cred = match.group(1), match.group(2), match.group(3)
    if len(cred) < 8:
        return match.group(0)
    if scheme.lower() == "basic" and len(cred) % 4 and not re.search(r"[0-9+/=]", cred):
        return match.group(0)  # "Basic authentication failed" is prose, not a credential
    return f"{scheme}{space}{REDACTED}"


def _mask_pair(match: re.Match[str]) -> str:
    key, value = match.group("key"), match.group("value")
    in_query = match.start() > 0 and match.string[match.start() - 1] in "?&"
    if value == REDACTED or (key.lower() == "code=" and not in_query and len(value) < _OAUTH_CODE_MIN):
        return match.group(0)  # already masked, or "code=6000" in prose: an error code, not OAuth's
    return key + REDACTED


def _mask_header(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.lstrip().startswith(REDACTED) or _normalise_key(match.group("key").strip(" :\t")) in _NOT_SECRET_KEYS:
        return match.group(0)
    return match.group("key") + REDACTED


def redact_text(text: str) -> str:
    """Mask credentials inside free text: ``Bearer …``/``Basic …``; ``access_token=…`` style pairs
    (query strings, form bodies — URL-encoded too — JSON fragments, quoted values with spaces);
    credential header lines (``X-Api-Key: …``); and passwords in URLs (``@`` inside one too)."""
    if _MAY_HOLD_SECRET.search(text) is None:  # no pattern below can match: most messages
        return text
    text = _AUTH_SCHEME_RE.sub(_mask_scheme, text)
    text = _QUOTED_VALUE_RE.sub(lambda m: f"{m.group('key')}{REDACTED}{m.group('q')}", text)
    text = _KEY_VALUE_RE.sub(_mask_pair, text)
    text = _ENCODED_PAIR_RE.sub(lambda m: m.group("key") + REDACTED, text)
    text = _HEADER_LINE_RE.sub(_mask_header, text)
    return _URL_USERINFO_RE.sub(lambda m: m.group("head") + REDACTED, text)


def _oauth_context(keys: Iterable[Any]) -> str | None:
    """``"callback"``, ``"hint"`` or None: how surely a mapping's keys make it an OAuth exchange."""
    names = {_normalise_key(k) for k in keys if isinstance(k, str)}
    return "callback" if names & _OAUTH_SIBLINGS else "hint" if names & _OAUTH_HINTS else None


def _looks_issued(value: str) -> bool:
    """An issued code (``AB11701234567890aBcD…``), not a word (``account_currency_mismatch``)."""
    return (len(value) >= _OAUTH_CODE_MIN and not any(c.isspace() for c in value)
            and not re.fullmatch(r"[a-z_.]+|[A-Z][A-Za-z]*", value))


def _is_secret_value(key: str, value: Any, context: str | None = None) -> bool:
    if value in (None, "") or not is_secret_key(key):
        return False
    if _normalise_key(key) == "code":  # OAuth's authorization code only in an OAuth exchange
        return context == "callback" or (context == "hint" and isinstance(value, str) and _looks_issued(value))
    return True


def redact(obj: Any) -> Any:
    """A copy of ``obj`` with secrets masked, recursively.

    Mappings: the value under a secret-looking key becomes ``"***"`` (whatever its type; ``None``
    and ``""`` stay, since they reveal nothing and show the field was absent); ``code`` only in an
    OAuth callback or token request (:data:`_OAUTH_SIBLINGS`). Strings anywhere go through
    :func:`redact_text`. Lists, tuples and sets are walked; other values pass as is.
    """
    if isinstance(obj, str):
        return redact_text(obj)
    if isinstance(obj, Mapping):
        out: dict[Any, Any] = {}
        context = _oauth_context(obj.keys())
        for key, value in obj.items():
            if isinstance(key, str) and _is_secret_value(key, value, context):
                out[key] = REDACTED
            else:
                out[key] = redact(value)
        return out
    if isinstance(obj, list | tuple):
        items = [redact(v) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, set | frozenset):
        return [redact(v) for v in obj]
    return obj


_FLAT = frozenset({str, int, bool, type(None)})


def redact_flat(obj: object) -> dict[str, Any] | None:
    """:func:`redact` of a ``dict`` whose keys are ``str`` and whose values are ``str``, ``int``,
    ``bool`` or ``None`` (exact types: the fixed-shape details most events carry), read in one
    pass instead of the recursive walk; None for anything else (then :func:`redact` walks it)."""
    if type(obj) is not dict:
        return None
    for key, value in obj.items():
        if type(key) is not str or type(value) not in _FLAT:
            return None
    context = _oauth_context(obj.keys())
    return {key: REDACTED if _is_secret_value(key, value, context) else
            redact_text(value) if type(value) is str else value for key, value in obj.items()}
