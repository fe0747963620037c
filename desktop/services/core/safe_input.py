"""Reading what a person hands the app — files, standard input, pasted text — within limits.

Every file input has a size cap and every structured format a depth cap, so a hostile or broken
file is refused at once with a message instead of exhausting memory or the stack:

- :func:`read_capped` reads a file (or standard input) up to a byte limit, refusing a larger one
  before it is read whole.
- :func:`load_json` parses JSON with every number as an exact ``Decimal`` (never float) after a
  linear scan that refuses nesting deeper than :data:`MAX_DEPTH` (Python's parser would otherwise
  die with ``RecursionError`` at a few thousand levels).
- :func:`load_yaml` parses YAML with the safe loader, refusing anchors/aliases outright — a
  "billion laughs" file of 1 KB expands to gigabytes through aliases, and no mapping file we
  write or ship uses them — and nesting deeper than :data:`MAX_DEPTH`.

All refusals raise :class:`InputRejected`, a :class:`~desktop.services.core.errors.NeedsPersonError`
whose message names the file and the limit and whose ``action`` says what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml

from desktop.services.core import exact_json
from desktop.services.core.errors import NeedsPersonError

__all__ = ["MAPPING_FILE_LIMIT", "MAX_DEPTH", "RMS_FILE_LIMIT", "InputRejected", "load_json", "load_yaml",
           "read_capped"]

#: Deepest nesting of lists/objects accepted in any JSON or YAML input (the exact-JSON module's).
MAX_DEPTH = exact_json.MAX_DEPTH
#: Largest mapping file accepted (the biggest shipped template is a few KB).
MAPPING_FILE_LIMIT = 5 * 1024 * 1024
#: Largest RMS export accepted by file import. The import streams (memory does not grow with the
#: file), so the cap bounds the time of one import — about four million returns — not its memory.
RMS_FILE_LIMIT = 2 * 1024 * 1024 * 1024


class InputRejected(NeedsPersonError):
    """A file or text the app will not read: too large, too deep, or using refused YAML features."""


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def read_capped(source: Path | IO[bytes], limit: int, *, name: str | None = None) -> bytes:
    """The bytes of ``source`` (a path, or a binary stream such as ``sys.stdin.buffer``), refusing
    more than ``limit`` bytes without reading further."""
    label = name or (source.name if isinstance(source, Path) else "the input")
    try:
        if isinstance(source, Path):
            with source.open("rb") as fh:
                data = _read_upto(fh, limit + 1)
        else:
            data = _read_upto(source, limit + 1)
    except OSError as exc:
        raise InputRejected(f"Cannot read {label}: {exc.strerror or exc}",
                            action="check the file name and its permissions") from exc
    if len(data) > limit:
        raise InputRejected(f"{label} is larger than the {_size(limit)} this input accepts",
                            action="split the file, or check that it is the file you meant")
    return data


def _read_upto(stream: IO[bytes], size: int) -> bytes:
    """At most ``size`` bytes, a megabyte at a time: ``read(size)`` would set aside all of ``size``
    up front (512 MB for an RMS export of a few kilobytes)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(min(left, 1024 * 1024))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def load_json(text: str, *, name: str = "the input", max_depth: int = MAX_DEPTH) -> Any:
    """JSON with exact Decimal numbers; refuses NaN/Infinity and nesting deeper than ``max_depth``."""
    if not exact_json.depth_ok(text, max_depth):
        raise InputRejected(f"{name} nests deeper than {max_depth} levels", action="check that it is the file you "
                            "meant; real exports nest only a few levels")
    try:
        return exact_json.loads(text, max_depth=max_depth)
    except (ValueError, RecursionError) as exc:
        raise InputRejected(f"{name} is not valid JSON ({exc})", action="export the file again") from exc


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, minus anchors/aliases, with a nesting limit."""

    max_depth = MAX_DEPTH

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"anchors and aliases are not accepted (alias at line {event.start_mark.line + 1})")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.YAMLError(f"anchors and aliases are not accepted (anchor at line {event.start_mark.line + 1})")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > self.max_depth:
                raise yaml.YAMLError(f"nesting deeper than {self.max_depth} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, *, name: str = "the input") -> Any:
    """YAML through the safe loader without aliases; refuses anything else with a message."""
    loader = None
    try:
        loader = _NoAliasLoader(text)  # the reader refuses control characters here already
        return loader.get_single_data()
    except (yaml.YAMLError, RecursionError) as exc:
        raise InputRejected(f"{name} is not a YAML file this app reads ({exc})",
                            action="export the mapping again from the app, or remove anchors (&) and aliases (*)"
                            ) from exc
    finally:
        if loader is not None:
            loader.dispose()
