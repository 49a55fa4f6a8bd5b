"""The package's import graph: no circles (type-checking imports included), and no module imports from a
layer above its own: cli -> commands -> pipeline -> engines -> plan -> parts -> core."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kgc_launch"

# Most specific prefix first. A module belongs to the first layer whose prefix it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("cli", ("kgc_launch.cli", "kgc_launch.__main__")),
    ("commands", ("kgc_launch.commands",)),
    ("pipeline", ("kgc_launch.launch", "kgc_launch.launch_artifacts", "kgc_launch.deploy")),
    ("engines", ("kgc_launch.engines", "kgc_launch.vllm", "kgc_launch.ferrum")),
    ("plan", ("kgc_launch.plan",)),
    (
        "parts",
        (
            "kgc_launch.knowngood",
            "kgc_launch.model",
            "kgc_launch.hardware",
            "kgc_launch.launch_options",
            # The engines' argument grammars: the registry reads a requirement's flags as the engine would.
            "kgc_launch.vllm.args",
            "kgc_launch.vllm.flags",
            "kgc_launch.vllm.vocabulary",
            "kgc_launch.ferrum.args",
        ),
    ),
]
ORDER = ["core", "parts", "plan", "engines", "pipeline", "commands", "cli"]


def layer_of(module: str) -> str:
    best, length = "core", -1
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > length:
                best, length = name, len(prefix)
    return best


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every kgc_launch module `path` imports, at any depth (functions, `if TYPE_CHECKING:` included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            # `from package import module` imports the module (the package's __init__ is empty here)
            names = [name for name in submodules if name in known] or [node.module]
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def test_no_import_circles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert circles == []


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = sorted(
        f"{source} ({layer_of(source)}) imports {target} ({layer_of(target)})"
        for source, targets in graph().items()
        for target in targets
        if ORDER.index(layer_of(target)) > ORDER.index(layer_of(source))
        and not (source == "kgc_launch" or target == "kgc_launch")
    )
    assert upward == []
