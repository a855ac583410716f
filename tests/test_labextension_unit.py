"""The JupyterLab extension's own checks: vitest unit tests of ``src/model.ts`` and a
TypeScript type check of all sources (tests included), run through ``jlpm``.

``pip install -e .`` installs the node modules while it builds the extension; if they are
missing this test installs them from the lockfile. Without ``jlpm`` (it comes with the
``jupyter-builder`` package) the test fails under CI and is skipped otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.services import unavailable

LABEXT = Path(__file__).resolve().parents[1] / "labextension"


def _jlpm(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["jlpm", *args], cwd=LABEXT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def node_modules():
    if shutil.which("jlpm") is None or shutil.which("node") is None:
        unavailable("`jlpm` or `node` is missing: install Node.js 20 and `pip install jupyter-builder`.")
    if not (LABEXT / "node_modules" / "vitest").is_dir():
        proc = _jlpm("install")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return LABEXT / "node_modules"


def test_model_unit_tests(node_modules):
    proc = _jlpm("test")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert "passed" in out and "failed" not in out.split("Tests")[-1], out[-2000:]


def test_typescript_type_check(node_modules):
    proc = _jlpm("typecheck")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
