"""PackedMap answers exactly as the dict / set of 64-bit hashes it replaces (issue 14's import memory)."""

from __future__ import annotations

import random

from desktop.services.rms.packed import PackedMap


def test_packed_map_agrees_with_a_dict_through_growth_collisions_and_overwrites() -> None:
    rng = random.Random(14)
    packed, plain = PackedMap(17, capacity=8), {}
    keys = [hash((f"ret_{n}", n % 3)) for n in range(5000)] + [0, -1, 2**63 - 1, -(2**63)]
    keys += [k << 20 for k in range(1, 200)]  # many equal low bits: long probe runs
    for key in keys:
        value = rng.getrandbits(136)
        packed.set(key, value)
        plain[key] = value
        assert packed.get(key) == value
    for key in rng.sample(keys, 500):  # overwrite: the size stays
        value = rng.getrandbits(136)
        packed.set(key, value)
        plain[key] = value
    assert len(packed) == len(plain)
    for key, value in plain.items():
        assert key in packed and packed.get(key) == value
    for n in range(5000):
        missing = hash(("other", n))
        assert (missing in packed) == (missing in plain)
        assert packed.get(missing) == plain.get(missing)


def test_packed_map_as_a_set() -> None:
    seen = PackedMap()
    for n in range(3000):
        seen.add(hash((f"ret_{n}", "1")))
    assert len(seen) == 3000
    assert all(hash((f"ret_{n}", "1")) in seen for n in range(3000))
    assert not any(hash((f"ret_{n}", "2")) in seen for n in range(3000))
