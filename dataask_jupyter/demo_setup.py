"""``dataask demo``: build the demo databases, register them as connections, open JupyterLab."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .core import DataAsk
from .demo import DEMO_CONNECTIONS, build_demo
from .store import DEFAULT_WORKSPACE

REPO_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
PACKAGED_NOTEBOOK = Path(__file__).resolve().parent / "demo" / "quickstart.ipynb"


@dataclass
class DemoReport:
    data_dir: Path
    notebook: Path
    connections: dict[str, str] = field(default_factory=dict)  # name -> "added" | "kept" | "updated"

    def lines(self) -> list[str]:
        out = [f"Demo databases in {self.data_dir}"]
        descriptions = dict(DEMO_CONNECTIONS)
        out += [f"  {name:<11} {state:<8} {descriptions.get(name, '')}" for name, state in self.connections.items()]
        out.append(f"Quickstart notebook: {self.notebook}")
        return out


def _notebook(app: DataAsk) -> Path:
    """The quickstart notebook: the repository's copy when run from a checkout, else a copy."""
    if REPO_NOTEBOOK.exists():
        return REPO_NOTEBOOK
    target = app.settings.home / "notebooks" / "quickstart.ipynb"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGED_NOTEBOOK, target)
    return target


def prepare_demo(app: DataAsk, data_dir: Path | None = None, workspace: str = DEFAULT_WORKSPACE) -> DemoReport:
    """Build (or reuse) the demo files and make sure each demo connection points at them."""
    data_dir = (data_dir or app.settings.home / "demo").expanduser().resolve()
    urls = build_demo(data_dir)
    report = DemoReport(data_dir=data_dir, notebook=_notebook(app))
    ws_id = app.repo.get_workspace(workspace).id
    for name, url in urls.items():
        existing = app.repo.get_connection(ws_id, name)
        if existing is not None and existing.url == app.connections.info(name, workspace).url == url:
            report.connections[name] = "kept"
            continue
        app.connect(name, url, workspace=workspace, replace=existing is not None)
        report.connections[name] = "updated" if existing else "added"
    return report


def launch_lab(notebook: Path, port: int | None = None) -> int:
    """Run JupyterLab on ``notebook`` in the foreground (Ctrl-C to stop)."""
    cmd = [sys.executable, "-m", "jupyterlab", str(notebook)]
    if port:
        cmd.append(f"--port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    print("Starting JupyterLab:", " ".join(cmd[2:]))
    try:
        return subprocess.call(cmd, cwd=notebook.parent)
    except KeyboardInterrupt:
        return 0
