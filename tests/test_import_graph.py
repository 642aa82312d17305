"""The package's modules import each other without a cycle (issue 12): each
concern sits below the ones that use it.  Imports inside functions count
too: a lazy import hides a cycle, it does not remove it."""

import ast
import os

import fastdigits

PKG_DIR = os.path.dirname(fastdigits.__file__)


def _module_name(path):
    rel = os.path.relpath(path, os.path.dirname(PKG_DIR))[:-3].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def _exists(module):
    base = os.path.join(os.path.dirname(PKG_DIR), *module.split("."))
    return os.path.isdir(base) or any(os.path.exists(base + ext) for ext in (".py", ".pyx"))


def import_graph():
    graph = {}
    for folder, _, files in os.walk(PKG_DIR):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(folder, f)
            mod = _module_name(path)
            pkg = mod if f == "__init__.py" else mod.rsplit(".", 1)[0]
            deps = set()
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if isinstance(node, ast.ImportFrom):
                    if node.level:
                        parts = pkg.split(".")
                        parts = parts[: len(parts) - (node.level - 1)]
                        target = ".".join(parts + ([node.module] if node.module else []))
                    else:
                        target = node.module or ""
                    if target.split(".")[0] != "fastdigits":
                        continue
                    for alias in node.names:  # "from . import x": the module x
                        sub = target + "." + alias.name
                        deps.add(sub if _exists(sub) else target)
                elif isinstance(node, ast.Import):
                    deps.update(a.name for a in node.names if a.name.split(".")[0] == "fastdigits")
            graph[mod] = deps - {mod}
    return graph


def find_cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep, stack + [dep])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_the_checker_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    graph = import_graph()
    assert "fastdigits.idx" in graph and "fastdigits._idx_read" in graph["fastdigits.idx"]
    assert find_cycle(graph) is None
