"""Read the elements of a large JSON list one at a time, in bounded memory, with exact decimals.

A file import may be hundreds of megabytes; :func:`json.loads` would hold all of it, and every
object in it, at once. :class:`JsonListStream` reads the file a chunk at a time and hands out the
elements of its top-level list — or of the list under one key of a top-level object
(``{"returns": [...]}``) — each parsed by the same C decoder as :func:`exact_json.loads` (every
non-integer number a ``Decimal``, ``NaN``/``Infinity`` refused), so memory holds one chunk plus
one element, whatever the file's size. The standard library has no incremental JSON parser; this is
the bounded approach: ``JSONDecoder.raw_decode`` on a rolling buffer.

Limits: one element may not exceed ``max_element`` characters (:class:`JsonStreamError` names it);
an element nested too deeply for the parser's recursion limit is handed to ``too_deep`` (which may
return a trimmed text to parse instead, see :func:`desktop.services.rms.storable.trim_depth`).
Anything that is not JSON raises :class:`JsonStreamError` at the point where it is found: elements
handed out before it stay handed out.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

from desktop.services.core.exact_json import brackets

__all__ = ["JsonListStream", "JsonStreamError", "NotAList"]

_WS = " \t\r\n"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class JsonStreamError(ValueError):
    """The input stops being JSON (or an element is larger than allowed) at ``element``."""


class NotAList(JsonStreamError):
    """The document is JSON but holds neither a list nor an object with a list under the key."""


class JsonListStream:
    """Elements of the top-level list of ``stream`` (binary, UTF-8, BOM allowed), or of ``key``'s list.

    ``position`` says how far into the stream the reader is (for a progress bar).
    """

    def __init__(self, stream: IO[bytes], *, key: str | None = "returns", chunk: int = 1 << 20,
                 max_element: int = 16 << 20, too_deep: Callable[[str], str | None] | None = None) -> None:
        self._stream = stream
        self._key = key
        self._chunk = chunk
        self._max = max_element
        self._too_deep = too_deep
        self._decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
        self._text = codecs.getincrementaldecoder("utf-8-sig")()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self.bytes_read = 0
        self.elements = 0
        self._values = self._document()

    @property
    def position(self) -> int:
        """About how many bytes of the stream have been consumed (read, less what waits in the buffer)."""
        return max(0, self.bytes_read - (len(self._buf) - self._pos))

    # --- the buffer ---------------------------------------------------------------------------------

    def _more(self) -> bool:
        """Read one more chunk into the buffer (dropping what was consumed); False at the end."""
        if self._eof:
            return False
        data = self._stream.read(self._chunk)
        self.bytes_read += len(data)
        if not data:
            self._eof = True
            self._buf = self._buf[self._pos:] + self._text.decode(b"", final=True)
        else:
            self._buf = self._buf[self._pos:] + self._text.decode(data)
        self._pos = 0
        return True

    def _skip_ws(self) -> str:
        """The next non-blank character (the empty string at the end of the input)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WS:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _expect(self, what: str) -> str:
        ch = self._skip_ws()
        if ch == "" or ch not in what:
            found = repr(ch) if ch else "the end of the file"
            raise JsonStreamError(f"expected {' or '.join(repr(c) for c in what)} but found {found}"
                                  f"{self._where()}")
        self._pos += 1
        return ch

    def _where(self) -> str:
        return f" after element {self.elements}" if self.elements else ""

    def _value(self) -> Any:
        """Decode the value at the current position, reading more of the stream as it needs."""
        self._skip_ws()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except RecursionError:
                return self._deep_value()
            except json.JSONDecodeError as exc:
                # Past the buffer's end (or inside a string that has not ended yet) more text may
                # complete the value; anywhere else the text is wrong, however much more is read.
                incomplete = exc.pos >= len(self._buf) - 10 or exc.msg.startswith("Unterminated string")
                if incomplete and self._more():
                    self._check_size()
                    continue
                raise JsonStreamError(f"not valid JSON{self._where()} ({exc})") from None
            except ValueError as exc:  # NaN / Infinity
                raise JsonStreamError(f"not valid JSON{self._where()} ({exc})") from None
            if not self._eof and (end == len(self._buf) or (
                    isinstance(value, int | Decimal) and not self._buf[end:].strip("0123456789.eE+-"))):
                self._more()  # a number (or a literal) may go on in the next chunk
                self._check_size()
                continue
            self._pos = end
            return value

    def _check_size(self) -> None:
        if len(self._buf) - self._pos > self._max:
            raise JsonStreamError(f"element {self.elements + 1} is larger than {self._max // (1 << 20)} MB")

    def _deep_value(self) -> Any:
        """A value nested too deeply for the decoder: find its end by scanning, let ``too_deep`` trim it."""
        while True:
            depth, end = 0, None
            for i, ch in brackets(self._buf[self._pos:]):
                depth += 1 if ch in "[{" else -1
                if depth == 0:
                    end = self._pos + i + 1
                    break
            if end is not None or not self._more():
                break
            self._check_size()
        text = self._buf[self._pos:end] if end is not None else None
        trimmed = self._too_deep(text) if (text is not None and self._too_deep is not None) else None
        if trimmed is None or end is None:
            raise JsonStreamError(f"element {self.elements + 1} nests too deeply to read")
        try:
            value = json.loads(trimmed, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise JsonStreamError(f"element {self.elements + 1} nests too deeply to read") from exc
        self._pos = end
        return value

    # --- the document --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        return self._values  # one generator: iterating again (counting the rest) goes on from where it is

    def _document(self) -> Iterator[Any]:
        first = self._skip_ws()
        if first == "[":
            yield from self._list()
            self._end()
            return
        if first != "{" or self._key is None:
            if first == "":
                raise JsonStreamError("the file is empty")
            if first not in "[{":
                self._value()  # valid JSON of another kind is "not a list"; anything else "not JSON"
            raise NotAList("not a list")
        self._pos += 1
        found = False
        if self._skip_ws() == "}":
            self._pos += 1
        else:
            while True:
                name = self._value()
                self._expect(":")
                if name == self._key and found:
                    raise JsonStreamError(f"the document has two {self._key!r} lists")
                if name == self._key and self._skip_ws() == "[":
                    found = True
                    yield from self._list()
                else:
                    self._value()  # another member: read and let go (bounded like an element)
                if self._expect(",}") == "}":
                    break
        self._end()
        if not found:
            raise NotAList(f"no {self._key!r} list")

    def _list(self) -> Iterator[Any]:
        self._pos += 1  # the "["
        if self._skip_ws() == "]":
            self._pos += 1
            return
        while True:
            value = self._value()
            self.elements += 1
            yield value
            if self._expect(",]") == "]":
                return

    def _end(self) -> None:
        if self._skip_ws() != "":
            raise JsonStreamError(f"unexpected text after the end of the JSON document{self._where()}")
