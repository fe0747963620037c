"""No import cycle anywhere in ``desktop``: every module can be read, tested and moved on its own.

import-linter's contracts in pyproject.toml say which layer may import which; they do not forbid a
cycle between two modules of one package (its ``acyclic_siblings`` contract works on whole packages,
a coarser grain than this). This checks the module graph itself with grimp — the library
import-linter is built on — counting every import, including those made inside functions and
under ``TYPE_CHECKING`` (a type-only import still couples the two modules).

One edge grimp does not draw is added: importing ``a.b.c`` from outside package ``a.b`` runs
``a/b/__init__.py`` first, so a package whose ``__init__`` imports its modules is a dependency of
everyone importing any of them. (That is how ``views/pages/__init__.py``, importing every page,
made ``import desktop.views.mapping.actions`` fail on its own: the page it reached imported it back.)
"""

from __future__ import annotations

from itertools import pairwise

import grimp


def _packages_run_first(importer: str, imported: str) -> set[str]:
    """The packages whose ``__init__`` Python runs to import ``imported`` from ``importer``."""
    parts = imported.split(".")
    out = set()
    for i in range(1, len(parts)):
        package = ".".join(parts[:i])
        if importer != package and not importer.startswith(package + "."):
            out.add(package)
    return out


def _imported(graph: grimp.ImportGraph, module: str, modules: set[str]) -> set[str]:
    """What importing ``module`` runs: its direct imports and the packages they sit in."""
    direct = graph.find_modules_directly_imported_by(module)
    found = set(direct)
    for target in direct:
        found |= _packages_run_first(module, target)
    return found & modules


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    edges = {m: sorted(_imported(graph, m, modules)) for m in modules}
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One cycle in the component, as ``a → b → … → a`` with the line of each import."""
    members = set(component)
    start = component[0]
    # breadth-first from start back to start, inside the component
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(_imported(graph, node, members)):
            if target == start:
                chain = [*paths[node], start]
                steps = []
                for a, b in pairwise(chain):
                    lines = sorted({d["line_number"] for d in graph.get_import_details(importer=a, imported=b)})
                    how = f"line {', '.join(map(str, lines))}" if lines else "its package __init__ runs first"
                    steps.append(f"{a} → {b} ({how})")
                return "\n    ".join(steps)
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return " ⟷ ".join(component)


def test_the_desktop_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("desktop", cache_dir=None)
    modules = {m for m in graph.modules if m == "desktop" or m.startswith("desktop.")}
    cycles = _cycles(graph, modules)
    report = "\n".join(f"- {len(c)} modules import each other: {', '.join(c)}\n    {_describe(graph, c)}"
                       for c in cycles)
    assert not cycles, f"import cycles in desktop/ (break each by moving the shared part or a Protocol):\n{report}"
