"""QuickBooks' change feed answers at most 1,000 objects: the connector narrows the window by asking
again from the newest change the full part covers, and says when it cannot (issue 14, item 3).

The CDC answers are canned here (the emulator caps the whole answer, oldest first; the real
service is documented per entity type too): what is checked is where the connector asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from desktop.services.platforms.qbo.platform import CDC_MAX, QboPlatform

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _obj(ident: int, at: datetime) -> dict[str, Any]:
    return {"Id": str(ident), "SyncToken": "0", "TxnDate": "2026-12-01",
            "MetaData": {"LastUpdatedTime": at.isoformat()}}


def _answer(**blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"time": T0.isoformat(), "CDCResponse": [{"QueryResponse": [{k: v} for k, v in blocks.items()]}]}


def _platform(answers: list[dict[str, Any]]) -> tuple[QboPlatform, list[str]]:
    asked: list[str] = []
    platform = QboPlatform(None, "http://127.0.0.1:9/v3/company", "1")  # type: ignore[arg-type]

    def fake_get(path: str, params: dict[str, str] | None = None) -> Any:
        assert path == "cdc" and params is not None
        asked.append(params["changedSince"])
        return answers[len(asked) - 1]

    platform._get = fake_get  # type: ignore[method-assign]
    return platform, asked


def _now() -> Callable[[], datetime]:
    return lambda: T0


def test_a_type_cut_at_the_cap_is_asked_again_from_its_newest_change() -> None:
    memos = [_obj(i, T0 + timedelta(seconds=i // 100)) for i in range(CDC_MAX)]  # up to +9 s
    journals = [_obj(5000 + i, T0 + timedelta(seconds=60 + i)) for i in range(3)]  # later than the cut
    rest = [_obj(2000, T0 + timedelta(seconds=30))]
    platform, asked = _platform([_answer(CreditMemo=memos, JournalEntry=journals), _answer(CreditMemo=rest)])

    feed = platform.changes_since(T0.isoformat(), _now())

    assert feed.complete
    assert len(asked) == 2
    # Not from the journals' newest change (that would skip memos changed between +9 s and +60 s).
    assert datetime.fromisoformat(asked[1]) == T0 + timedelta(seconds=9)
    assert len(feed.docs) == len(feed.records) == CDC_MAX + 3 + 1
    assert feed.cursor == T0.isoformat()  # the first answer's time


def test_a_whole_answer_at_the_cap_is_asked_again_from_its_newest_change() -> None:
    half = CDC_MAX // 2
    memos = [_obj(i, T0 + timedelta(seconds=i)) for i in range(half)]
    journals = [_obj(5000 + i, T0 + timedelta(seconds=half + i)) for i in range(CDC_MAX - half)]
    platform, asked = _platform([_answer(CreditMemo=memos, JournalEntry=journals), _answer()])

    feed = platform.changes_since(T0.isoformat(), _now())

    assert feed.complete and len(asked) == 2
    assert datetime.fromisoformat(asked[1]) == T0 + timedelta(seconds=CDC_MAX - 1)


def test_more_changes_in_one_second_than_an_answer_holds_is_said_not_looped_on() -> None:
    same = [_obj(i, T0) for i in range(CDC_MAX)]
    platform, asked = _platform([_answer(CreditMemo=same)] * 3)

    feed = platform.changes_since(T0.isoformat(), _now())

    assert not feed.complete  # whoever keeps a copy reads in full instead
    assert len(asked) == 1
