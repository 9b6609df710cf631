"""The architecture as a test: each module imports only its own layer or lower ones, and the package's
module-level imports form no cycle (docs/architecture.md draws the same layers)."""
import ast
from pathlib import Path

QA = Path(__file__).resolve().parent.parent / "qa"

# lowest first: a module may import modules of its own layer and of the layers before it
LAYERS = [
    ("types", ["qa.types", "qa.errors", "qa.config", "qa.text", "qa.lexical", "qa.places", "qa.guard", "qa.progress",
               "qa.conversation", "qa.support", "qa.embeddings", "qa.llm", "qa.boilerplate"]),
    ("stores", ["qa.stores"]),
    ("retrieval", ["qa.retrieval", "qa.loaders", "qa.chunking", "qa.ingest"]),
    ("answering", ["qa.answer", "qa.verify", "qa.generate", "qa.corroborate", "qa.judge", "qa.reader"]),
    ("engine", ["qa.engine"]),
    ("surfaces", ["qa.cli", "qa.app", "qa.server", "qa.llamaindex", "qa.evaluation", "qa.testing", "qa"]),
]


def module_name(path: Path, root: Path = QA) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False, root: Path = QA) -> set[str]:
    """The qa modules a file imports (relative imports resolved), anywhere in it or only at module level.
    ``from . import ann`` imports the submodule ``ann``, not the package's own names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "qa" or base.startswith("qa."):
                subs = [f"{base}.{a.name}" for a in node.names
                        if (root.parent / f"{base}.{a.name}".replace(".", "/")).with_suffix(".py").exists()
                        or (root.parent / f"{base}.{a.name}".replace(".", "/") / "__init__.py").exists()]
                out.update(subs if len(subs) == len(node.names) else [base, *subs])
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name == "qa" or a.name.startswith("qa."))
    return out - {name}


def layer_of(module: str) -> int:
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (i, len(p))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0]


def test_no_module_imports_a_higher_layer():
    wrong = []
    for path in sorted(QA.rglob("*.py")):
        me = module_name(path)
        for other in sorted(imports(path)):
            if other != "qa" and layer_of(other) > layer_of(me):
                wrong.append(f"{me} ({LAYERS[layer_of(me)][0]}) imports {other} ({LAYERS[layer_of(other)][0]})")
    assert wrong == []


def test_module_level_imports_have_no_cycle():
    graph = {module_name(p): {m for m in imports(p, top_level_only=True) if m != "qa"} for p in QA.rglob("*.py")}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if not state.get(nxt):
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])


def test_no_private_name_is_imported_from_another_module():
    crossing = []
    for path in sorted(QA.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("qa")):
                crossing += [f"{module_name(path)}: {a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
    assert crossing == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    """The checks above can fail: on a made-up package, a store importing the engine is found, resolved
    from its relative form, and two modules importing each other are a cycle."""
    root = tmp_path / "qa"
    (root / "stores").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "stores" / "__init__.py").write_text("from .embedded import Store\n")
    (root / "stores" / "embedded.py").write_text("from . import rows\nfrom ..engine import QA\n")
    (root / "stores" / "rows.py").write_text("")
    (root / "engine.py").write_text("from .stores import Store\n")
    found = imports(root / "stores" / "embedded.py", root=root)
    assert found == {"qa.stores.rows", "qa.engine"}  # the submodule, not the package; and the upward import
    assert layer_of("qa.engine") > layer_of(module_name(root / "stores" / "embedded.py", root))
    assert "qa.stores" in imports(root / "engine.py", root=root)
