"""The package's layering rules, read from the source (issue 10 §6): a rule that keeps it so.

- models import one way: pretrained-model libraries only inside models/, Hub access only in hub.py, no cycles;
- only the front ends — the CLI (cli.py, commands/) and the web UI that runs the CLI's commands (ui/) —
  import commands/; report/ assembles, render.py never runs the engine;
- every module is at most 300 lines, or says in its docstring why it is longer.
"""

import ast
from pathlib import Path

import difflab

PACKAGE = Path(difflab.__file__).parent
HEAVY = {"diffusers", "transformers", "accelerate", "huggingface_hub"}


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, as an absolute dotted name."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import x` names a module
    return names


def modules() -> dict[str, set[str]]:
    return {str(p.relative_to(PACKAGE)): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


# Accelerate also launches training processes: that one module may use it (issue 15), lazily.
ALSO_ALLOWED = {"training/parallel.py": {"accelerate"}}


def test_only_models_import_the_pretrained_model_libraries():
    offenders = {name: sorted(n for n in found if n.split(".")[0] in HEAVY - ALSO_ALLOWED.get(name, set()))
                 for name, found in modules().items() if not name.startswith("models/")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_hub_reaches_the_hub():
    users = {name for name, found in modules().items() if any(n.startswith("huggingface_hub") for n in found)}
    assert users == {"models/hub.py"}


def test_models_import_each_other_without_cycles():
    graph = {f"difflab.{name[:-3].replace('/', '.')}": {n for n in found if n.startswith("difflab.models")}
             for name, found in modules().items() if name.startswith("models/") and name != "models/__init__.py"}
    visiting, done = set(), set()

    def visit(node, trail):
        assert node not in visiting, f"import cycle: {' -> '.join(trail + [node])}"
        if node in done or node not in graph:
            return
        visiting.add(node)
        for target in graph[node]:
            visit(target, trail + [node])
        visiting.discard(node)
        done.add(node)

    for node in graph:
        visit(node, [])
    assert "difflab.models.deepfloyd" in graph["difflab.models.registry"]  # the graph is read, not empty


FRONT_ENDS = ("commands/", "ui/")  # the web UI calls each command's own run(args), so it imports them too


def test_only_the_front_ends_import_the_commands():
    offenders = {name: sorted(n for n in found if n.startswith("difflab.commands"))
                 for name, found in modules().items() if name != "cli.py" and not name.startswith(FRONT_ENDS)}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert any(n.startswith("difflab.commands") for n in modules()["commands/sample.py"])  # the rule sees real imports


def test_render_does_not_import_the_engine():
    found = modules()
    assert not {n for n in found["report/render.py"] if n.startswith("difflab.report.tour")}
    assert not {n for n in found["report/catalog.py"] if n.startswith("difflab.report.")}


LENGTH_REASON = "longer than 300 lines because"


def test_modules_stay_short_or_say_why():
    long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > 300 and LENGTH_REASON not in docstring:
            long[str(path.relative_to(PACKAGE))] = len(text.splitlines())
    assert not long, f"modules over 300 lines without '{LENGTH_REASON} …' in their docstring: {long}"
