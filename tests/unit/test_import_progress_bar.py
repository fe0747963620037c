"""The CLI's progress line: on stderr only when it is a terminal and without --json; the text of the bar."""

from __future__ import annotations

import argparse
import io

from desktop.commands._progress_bar import StderrBar
from desktop.services.rms.progress import IngestProgress, bar_text


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_is_drawn_in_place_on_a_terminal_and_cleared_at_the_end() -> None:
    tty = _Tty()
    bar = StderrBar(argparse.Namespace(json=False), tty, interval=0)
    bar.show("[##--] 50 %  2 read")
    bar.show("[####] 100 %  4 read")
    bar.close()
    assert tty.getvalue() == "\r[##--] 50 %  2 read\r[####] 100 %  4 read" + "\r" + " " * 20 + "\r"


def test_no_bar_with_json_or_without_a_terminal() -> None:
    for args, stream in ((argparse.Namespace(json=True), _Tty()), (argparse.Namespace(json=False), io.StringIO())):
        bar = StderrBar(args, stream, interval=0)
        bar.show("anything")
        bar.close()
        assert not bar.enabled and stream.getvalue() == ""


def test_bar_text_says_the_counts_and_the_share_of_the_file() -> None:
    p = IngestProgress(read=1200, ingested=1188, quarantined=12, unchanged=0, conflicts=0, batches=6,
                       bytes_read=250, bytes_total=1000)
    assert bar_text(p, width=8) == "[##------]  25 %  1,200 read: 1,188 ingested, 12 quarantined"
    feed = IngestProgress(read=5, ingested=3, quarantined=1, unchanged=1, conflicts=0, batches=1)
    assert bar_text(feed) == "5 read: 3 ingested, 1 quarantined, 1 unchanged"
