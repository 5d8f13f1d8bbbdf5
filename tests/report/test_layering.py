"""report/ assembles figures and text: it imports neither the CLI nor the code that trains or scores."""

import ast
from pathlib import Path

import difflab.report

REPORT = Path(difflab.report.__file__).parent


def _imports(path: Path) -> set[str]:
    """Absolute names of the difflab modules a report module imports (relative imports resolved)."""
    package = "difflab." + ".".join(path.relative_to(REPORT.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            names.add(f"{base}.{node.module}" if node.level and node.module else node.module or base)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_report_never_imports_the_cli():
    offenders = {p.name: n for p in REPORT.rglob("*.py") for n in _imports(p) if n.startswith("difflab.commands")}
    assert not offenders, offenders


def test_render_does_not_import_the_engine():
    assert not {n for n in _imports(REPORT / "render.py") if n.startswith("difflab.report.tour")}
    assert not {n for n in _imports(REPORT / "catalog.py") if n.startswith("difflab.report.")}


def test_report_modules_stay_short():
    long = {str(p.relative_to(REPORT)): n for p in REPORT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert not long, long
