"""The house (CONTRIBUTING.md): layers that import only from below, no circle of
imports, and no import of klg's own modules hidden inside a function.

import-linter checks the layers and that the registry is imported only by the
wiring; a walk of the import graph it builds (grimp) finds any circle; ruff's
PLC0415 finds imports inside functions (the few that start-up needs carry
``# noqa: PLC0415`` with the reason).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import grimp

from tests.helpers import REPO

BIN = Path(sys.executable).parent


def test_the_layers_hold():
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], capture_output=True, text=True, cwd=REPO,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_has_a_layer():
    """A module left out of .importlinter would be held to nothing."""
    listed = set(re.findall(r"daemon\.([a-z_]+)", (REPO / ".importlinter").read_text()))
    here = {p.stem for p in (REPO / "daemon").iterdir()
            if (p.suffix == ".py" and not p.stem.startswith("__")) or (p.is_dir() and (p / "__init__.py").exists())}
    assert here - {"migrations"} <= listed, sorted(here - listed - {"migrations"})


def _circles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_modules_import_each_other_in_a_circle():
    graph = grimp.build_graph("daemon", cache_dir=None)
    assert _circles(graph) == []


def test_no_import_of_klg_hidden_inside_a_function():
    """Libraries may be imported where they are used (start-up time, issue 19); klg's own
    modules only at the top, except the few marked ``# noqa: PLC0415`` with a reason."""
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "--select", "PLC0415", "--output-format", "json",
                             "daemon"], capture_output=True, text=True, cwd=REPO, timeout=120)
    hidden = []
    for finding in json.loads(result.stdout or "[]"):
        line = Path(finding["filename"]).read_text(encoding="utf-8").split("\n")[finding["location"]["row"] - 1]
        if re.match(r"\s*(from daemon[ .]|import daemon)", line):
            hidden.append(f"{Path(finding['filename']).relative_to(REPO)}:{finding['location']['row']}: {line.strip()}")
    assert hidden == []


def test_no_name_is_used_that_is_not_defined():
    """A library imported inside one function (start-up time) is not there for its neighbours:
    ruff's F821 finds a name used where it was never imported, before a user's mail does."""
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "--select", "F821", "--output-format", "concise",
                             "daemon"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stdout
