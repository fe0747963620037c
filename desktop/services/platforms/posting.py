"""One posting request for many documents, as a whole: what it came to before any item is read.

Both platforms post several documents in one request (QBO ``POST /batch``, Xero ``PUT`` with
``summarizeErrors=false``). Before either reads its per-item answers, the same rules decide what
the request as a whole came to — the same for every platform, so written once:

- nothing left this computer (:class:`~.http.NotSent`) → retry, no look-up needed;
- sent but the answer was lost (a transient error) → uncertain: look the keys up before a re-send;
- a lost sign-in raises (no document can go until a person reconnects);
- refused before processing (HTTP 429) → retry; HTTP 5xx → uncertain (it may or may not have run);
- any other refusal → quarantine, with the platform's own error on each item.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from desktop.services.core.errors import AppError, NeedsReconnect, TransientError
from desktop.services.platforms.http import NotSent
from desktop.services.platforms.shapes import Outcome, PostRequest, SendResult

__all__ = ["send_request"]


def send_request(items: list[PostRequest], send: Callable[[], requests.Response],
                 translate: Callable[[requests.Response], AppError]) -> requests.Response | list[SendResult]:
    """``send()`` the request carrying ``items``: its response when the platform took the request
    (the caller reads each item's answer), else every item's outcome (see the module docstring).

    Raises:
        NeedsReconnect: the platform refused the sign-in; nothing was processed.
    """
    try:
        resp = send()
    except NotSent as exc:
        return _all(items, Outcome.RETRY, exc)
    except TransientError as exc:
        return _all(items, Outcome.UNCERTAIN, exc)
    if resp.status_code < 400:
        return resp
    err = translate(resp)
    if isinstance(err, NeedsReconnect):
        raise err
    if resp.status_code == 429:
        return _all(items, Outcome.RETRY, err)
    return _all(items, Outcome.UNCERTAIN if resp.status_code >= 500 else Outcome.QUARANTINE, err)


def _all(items: list[PostRequest], outcome: Outcome, error: AppError) -> list[SendResult]:
    return [SendResult(it.key, outcome, error=error) for it in items]
