"""What the benchmarks share: the PostgreSQL they run against."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def postgres_admin_url() -> str:
    """``DATAASK_TEST_PG_URL``, else the PostgreSQL of ``scripts/services.sh`` (started if needed)."""
    url = os.environ.get("DATAASK_TEST_PG_URL")
    if url:
        return url
    script = ROOT / "scripts" / "services.sh"
    subprocess.run([str(script), "start", "postgres"], check=True, stdout=subprocess.DEVNULL)
    env = subprocess.run([str(script), "env"], check=True, capture_output=True, text=True).stdout
    for line in env.splitlines():
        if line.startswith("export DATAASK_TEST_PG_URL="):
            return shlex.split(line.split("=", 1)[1])[0]
    raise SystemExit("scripts/services.sh env printed no DATAASK_TEST_PG_URL")
