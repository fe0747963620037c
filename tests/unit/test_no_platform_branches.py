"""No code outside the platform packages asks which ledger platform it is dealing with (issue 11, item 1).

What differs per platform is a fact on its profile (``desktop/services/platforms``: ``platform_for(x)``)
or the OAuth facts (``desktop/services/auth/platforms.py``); everywhere else asks the profile. This
reads every module under ``desktop/`` and fails naming ``file:line`` for:

- a comparison with a platform key or member (``platform == "qbo"``, ``p is Platform.XERO``,
  ``key in ("qbo", "xero")``) or with a platform class's name;
- a dict literal keyed by platform (``{"qbo": …, "xero": …}``), a subscript or ``.get`` with a
  platform key (``NAMES["xero"]``), a ``case "qbo":``;
- a loop over a hard-coded list of platforms (``for p in ("qbo", "xero")``), or a platform picked
  by a condition (``"xero" if … else "qbo"``);
- ``isinstance``/``issubclass`` against a platform's class (``QboConnector``, ``XeroRecipes``).

Naming a platform as data stays allowed (a test builder's ``Platform.QBO``, the enum's own values,
a webhook parser's ``Notification("qbo", …)``): only branching on one, or a table keyed by them, is
the knowledge that drifts. The check is done on the syntax tree, so a comparison between two
platforms (``row.platform == app.platform``, an SQL filter) is not mistaken for a branch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "desktop"

#: The platform packages and the places allowed to know the platforms by name.
ALLOWED = (
    "desktop/sandbox/",               # the emulators: the outside world, one per platform
    "desktop/services/platforms/",      # the profiles, the connectors and the registry
    "desktop/services/auth/platforms.py",  # OAuth endpoints and facts per platform
)
#: Files still allowed to branch on the platform while they are rewritten: none left (issue 11, item 1).
NOT_YET: tuple[str, ...] = ()

PLATFORM_KEYS = frozenset({"qbo", "xero"})
PLATFORM_MEMBERS = frozenset({"QBO", "XERO"})
CLASS_PREFIXES = ("Qbo", "Xero")


def _is_platform(node: ast.AST) -> bool:
    """A platform key (``"qbo"``) or member (``Platform.QBO``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in PLATFORM_KEYS
    return isinstance(node, ast.Attribute) and node.attr in PLATFORM_MEMBERS


def _names_platform(node: ast.AST) -> bool:
    """A platform key or member, or a literal collection holding one."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_platform(e) for e in node.elts)
    return _is_platform(node)


def _is_platform_class(node: ast.AST) -> bool:
    if isinstance(node, ast.Tuple):
        return any(_is_platform_class(e) for e in node.elts)
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.startswith(CLASS_PREFIXES)


def _is_class_name(node: ast.AST) -> bool:
    """A string naming a platform's class (``type(c).__name__ == "QboConnector"``)."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(CLASS_PREFIXES) \
        and node.value.isidentifier()


def platform_branches(source: str) -> list[tuple[int, str]]:
    """(line, what) of every platform branch or platform-keyed table in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_platform(s) for s in sides):
                found.append((node.lineno, "compares with a platform"))
            elif any(_is_class_name(s) for s in sides):
                found.append((node.lineno, "compares with a platform class's name"))
        elif isinstance(node, ast.Dict):
            if any(k is not None and _is_platform(k) for k in node.keys):
                found.append((node.lineno, "a dict keyed by platform"))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("isinstance", "issubclass") and len(node.args) == 2 \
                    and _is_platform_class(node.args[1]):
                found.append((node.lineno, f"{func.id} with a platform's class"))
            elif isinstance(func, ast.Name) and func.id == "dict" \
                    and any(k.arg in PLATFORM_KEYS for k in node.keywords):
                found.append((node.lineno, "a dict keyed by platform"))
            elif isinstance(func, ast.Attribute) and func.attr == "get" and node.args and _is_platform(node.args[0]):
                found.append((node.lineno, "a look-up by platform key"))
        elif isinstance(node, ast.Subscript):
            if _is_platform(node.slice):
                found.append((node.lineno, "a look-up by platform key"))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            if _names_platform(node.iter) and not _is_platform(node.iter):
                found.append((getattr(node, "lineno", getattr(node.iter, "lineno", 0)), "a loop over named platforms"))
        elif isinstance(node, ast.IfExp):
            if _is_platform(node.body) or _is_platform(node.orelse):
                found.append((node.lineno, "picks a platform by a condition"))
        elif isinstance(node, ast.MatchValue) and _is_platform(node.value):
            found.append((node.value.lineno, "a case per platform"))
    return sorted(set(found))


def _checked_files() -> list[Path]:
    out = []
    for path in sorted(DESKTOP.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED) or rel in NOT_YET:
            continue
        out.append(path)
    return out


def test_no_platform_branch_outside_the_platform_packages() -> None:
    files = _checked_files()
    assert len(files) > 100, "the walk found too few modules: is ROOT right?"
    offences = [f"{path.relative_to(ROOT).as_posix()}:{line}: {what}"
                for path in files for line, what in platform_branches(path.read_text(encoding="utf-8"))]
    assert not offences, ("platform knowledge outside the platform packages — ask the profile "
                          "(desktop.services.platforms.registry.platform_for) instead:\n" + "\n".join(offences))


def test_the_excluded_files_still_exist() -> None:
    """An exclusion for a file that is gone (moved, rewritten) must go too, or it hides nothing."""
    for rel in (*NOT_YET, *(a for a in ALLOWED if not a.endswith("/"))):
        assert (ROOT / rel).is_file(), f"{rel} no longer exists: remove it from this test's exclusions"


@pytest.mark.parametrize(("snippet", "what"), [
    ('if c.platform == "qbo": pass', "compares with a platform"),
    ('x = "a" if "xero" != s.platform else "b"', "compares with a platform"),
    ("if row.platform is Platform.XERO: pass", "compares with a platform"),
    ('ok = key in ("qbo", "xero")', "compares with a platform"),
    ('if type(c).__name__ == "QboConnector": pass', "compares with a platform class's name"),
    ('NAMES = {"qbo": "QuickBooks", "xero": "Xero"}', "a dict keyed by platform"),
    ("RULES = {Platform.QBO: 1}", "a dict keyed by platform"),
    ("NAMES = dict(qbo=1, xero=2)", "a dict keyed by platform"),
    ('tile = TILES["qbo"]', "a look-up by platform key"),
    ('name = NAMES.get("xero", "?")', "a look-up by platform key"),
    ('for p in ("qbo", "xero"): pass', "a loop over named platforms"),
    ('keys = [k for k in ["qbo", "xero"]]', "a loop over named platforms"),
    ("if isinstance(c, QboConnector): pass", "isinstance with a platform's class"),
    ("if isinstance(c, (ledgers.XeroPlatform, int)): pass", "isinstance with a platform's class"),
    ('match p:\n    case "xero":\n        pass', "a case per platform"),
    ('p = "xero" if upper else "qbo"', "picks a platform by a condition"),
])
def test_the_check_finds_each_kind_of_branch(snippet: str, what: str) -> None:
    assert what in [w for _line, w in platform_branches(snippet)]


@pytest.mark.parametrize("snippet", [
    "q = q.where(LedgerConnection.platform == app.platform)",    # two platforms compared: an SQL filter
    'org = Organization(code="ACME-US", platform=Platform.QBO)',  # naming a platform as data
    'out.append(Notification("qbo", realm, entity))',             # a webhook parser's own platform
    "if platform_for(c).publishes_rates: pass",                   # asking the profile
    'QBO = "qbo"',                                                # the enum's value
])
def test_the_check_lets_data_and_profile_questions_through(snippet: str) -> None:
    assert platform_branches(snippet) == []
