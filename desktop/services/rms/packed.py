"""A compact map from 64-bit hashes to small fixed-size values: what a file import remembers per return.

A file import remembers something about every return it has read — the copy rule a digest and place
per revision (:mod:`desktop.services.rms.copies`), the CSV reader which keys it has closed
(:mod:`desktop.services.rms.file_import`). In a ``dict``/``set`` of Python ints that is about 200
bytes a return: 200 MB for a million-return file. :class:`PackedMap` keeps the same in flat arrays
(open addressing, linear probing): 8 bytes of key plus the value's bytes per slot, at most two
thirds full — about 40 bytes a return for the copy rule's 17-byte values.
"""

from __future__ import annotations

from array import array

__all__ = ["PackedMap"]

_EMPTY, _USED = 0, 1


class PackedMap:
    """``int`` (a 64-bit ``hash()``) → unsigned int of ``value_bytes`` bytes (0 for a set)."""

    def __init__(self, value_bytes: int = 0, capacity: int = 1024) -> None:
        self._value_bytes = value_bytes
        self._size = 0
        self._alloc(max(8, 1 << (capacity - 1).bit_length()))

    def _alloc(self, slots: int) -> None:
        self._mask = slots - 1
        self._keys = array("q", bytes(8 * slots))
        self._used = bytearray(slots)
        self._values = bytearray(slots * self._value_bytes)

    def __len__(self) -> int:
        return self._size

    def _slot(self, key: int) -> int:
        """The slot holding ``key``, else the empty slot where it would go."""
        mask, keys, used = self._mask, self._keys, self._used
        i = (key ^ (key >> 29)) & mask
        while used[i] == _USED and keys[i] != key:
            i = (i + 1) & mask
        return i

    def __contains__(self, key: int) -> bool:
        return self._used[self._slot(key)] == _USED

    def get(self, key: int) -> int | None:
        i = self._slot(key)
        if self._used[i] != _USED:
            return None
        n = self._value_bytes
        return int.from_bytes(self._values[i * n:(i + 1) * n], "big")

    def set(self, key: int, value: int = 0) -> None:
        """Set ``key`` to ``value`` (which must fit ``value_bytes`` bytes)."""
        i = self._slot(key)
        if self._used[i] != _USED:
            if 3 * (self._size + 1) > 2 * (self._mask + 1):
                self._grow()
                i = self._slot(key)
            self._used[i] = _USED
            self._keys[i] = key
            self._size += 1
        n = self._value_bytes
        if n:
            self._values[i * n:(i + 1) * n] = value.to_bytes(n, "big")
        elif value:
            raise ValueError("this map holds no values")

    def add(self, key: int) -> None:
        """Set-like: remember ``key``."""
        self.set(key)

    def _grow(self) -> None:
        keys, used, values, n = self._keys, self._used, self._values, self._value_bytes
        self._alloc(2 * (self._mask + 1))
        for old, flag in enumerate(used):
            if flag == _USED:
                i = self._slot(keys[old])
                self._used[i] = _USED
                self._keys[i] = keys[old]
                if n:
                    self._values[i * n:(i + 1) * n] = values[old * n:(old + 1) * n]
