"""Every keyring call in the app goes through ``core.keyring_calls.steady`` (one at a time, asked again
when the Secret Service's object vanished or the service left the bus mid-call). The database
password read did not: with fifty organizations opening PostgreSQL connections at once on a loaded
machine, one read met "Object does not exist at path …/collection/…" and a pull crashed."""

from __future__ import annotations

import ast

import keyring
import pytest

from desktop.services.store import db as store_db
from tests.helpers.source_scan import findings

CALLS = frozenset({"get_password", "set_password", "delete_password", "get_credential"})


class ItemNotFoundException(Exception):
    """Stands for secretstorage's exception of that name (matched by name, as the backend may vary)."""


def test_the_database_password_read_survives_a_vanished_keyring_object(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[object] = [ItemNotFoundException("Item does not exist!"), "s3cret-db"]
    asked: list[tuple[str, str]] = []

    def get_password(service: str, user: str) -> str:
        asked.append((service, user))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    monkeypatch.setattr(keyring, "get_password", get_password)
    assert store_db._keyring_password("db:app@db.example:5432/ledger") == "s3cret-db"
    assert len(asked) == 2 and answers == []


def _outside_steady(tree: ast.AST) -> list[int]:
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in CALLS
                and isinstance(node.value, ast.Name) and node.value.id == "keyring"):
            continue
        up: ast.AST | None = node
        while up is not None and not (isinstance(up, ast.Call) and isinstance(up.func, ast.Name)
                                      and up.func.id in ("steady", "_steady")):
            up = parents.get(up)
        if up is None:
            out.append(node.lineno)
    return out


def test_no_keyring_call_goes_around_steady() -> None:
    found = findings(_outside_steady, ("desktop/sandbox/",))
    assert found == [], "call the keyring through desktop.services.core.keyring_calls.steady: " + ", ".join(found)
