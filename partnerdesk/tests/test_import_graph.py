"""The modules of partnerdesk import each other without circles.

An import inside a function counts too: it exists only to dodge a circle that
is still there.
"""

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGE = PACKAGE_DIR.name

# The old table of English refusals, being removed (issue 12): it reaches into customers.services.


def module_name(path):
    """Dotted name of a source file under the package."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files():
    """Every module of the package except tests and migrations."""
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR).parts
        if any(part in ("tests", "migrations") for part in parts):
            continue
        if parts[-1].startswith("test_") or parts[-1] == "conftest.py":
            continue
        yield path


def imported_modules(path, name, known):
    """Our modules that the file imports, at top level or inside functions."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                # "from . import x" in a package __init__ means the package itself.
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop] if drop else base
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # "from pkg import mod" imports the submodule, else a name from pkg.
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target in known and target != name:
                found.add(target)
    return found


def import_graph():
    """Module name -> set of our modules it imports."""
    files = {module_name(path): path for path in source_files()}
    return {name: imported_modules(path, name, files.keys()) for name, path in files.items()}


def find_cycle(graph):
    """One circle of imports as a list of module names, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # A sanity check that the scan reads imports inside functions too: service_messages reads the gateway's
    # failure messages only when it first needs them.
    assert "partnerdesk.gateway.failures" in graph["partnerdesk.service_messages"]
    assert "partnerdesk.service_messages" not in graph["partnerdesk.gateway.failures"]


def test_no_module_imports_itself_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)
