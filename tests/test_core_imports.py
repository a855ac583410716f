"""The core package is pure Python: importing any of it pulls in no kernel or server code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.foundation_fixtures import REPO

FORBIDDEN = ("IPython", "tornado", "jupyter_server", "ipywidgets")
PACKAGE = REPO / "dataask_jupyter"

PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    forbidden = %r
    def loaded():
        return sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
    import dataask_jupyter
    culprits, failed, seen = {}, {}, []
    if loaded():
        culprits["dataask_jupyter"] = loaded()
    walked = [i.name for i in pkgutil.walk_packages(dataask_jupyter.__path__, "dataask_jupyter.",
                                                    onerror=lambda name: failed.setdefault(name, "walk"))]
    # folders without __init__.py (namespace packages) are invisible to pkgutil: add them from disk
    on_disk = sys.argv[1].split(",")
    for name in dict.fromkeys(walked + on_disk):
        before = set(loaded())
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed[name] = repr(exc)
            continue
        seen.append(name)
        new = sorted(set(loaded()) - before)
        if new:
            culprits[name] = new
    print(json.dumps({"culprits": culprits, "failed": failed, "seen": seen, "loaded": loaded()}))
    """
)


def _modules_on_disk() -> list[str]:
    mods = []
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(REPO).with_suffix("")
        if "migrations" in rel.parts:  # Alembic scripts run only inside `alembic upgrade`
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        mods.append(".".join(parts))
    return mods


def _probe() -> dict:
    res = subprocess.run([sys.executable, "-c", PROBE % (FORBIDDEN,), ",".join(_modules_on_disk())],
                         capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_no_kernel_or_server_imports_anywhere_in_the_core():
    out = _probe()
    assert out["failed"] == {}, f"modules that do not import: {out['failed']}"
    assert out["culprits"] == {}, f"modules importing kernel/server code: {out['culprits']}"
    assert out["loaded"] == []
    assert set(_modules_on_disk()) <= set(out["seen"])
    assert len(out["seen"]) > 30


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = path.relative_to(REPO).with_suffix("").parts[:-node.level]
                base = ".".join([*parts, base] if base else parts)
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    return names


def test_no_forbidden_imports_even_lazily():
    """Function-level imports escape the probe above; the source must not have them either."""
    offenders = {
        str(p.relative_to(REPO)): [n for n in _imports(p) if n.split(".")[0] in FORBIDDEN]
        for p in PACKAGE.rglob("*.py")
    }
    # the one sanctioned door: %load_ext dataask_jupyter hands over to dataask_magics
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_only_store_imports_the_models():
    """Team deployments swap the repository for an HTTP one: nothing outside store/ may touch
    the SQLAlchemy models."""
    offenders = []
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(REPO)
        if rel.parts[:2] == ("dataask_jupyter", "store"):
            continue
        if any(n.startswith("dataask_jupyter.store.models") for n in _imports(p)):
            offenders.append(str(rel))
    assert offenders == []


def test_load_ext_entry_point_is_lazy():
    import dataask_jupyter

    assert callable(dataask_jupyter.load_ipython_extension)
    src = (PACKAGE / "__init__.py").read_text()
    assert "from dataask_magics import" in src.split("def load_ipython_extension", 1)[1]
