"""Peers' virtual environments for the benchmarks, made on demand with uv, outside the project.

Quix Streams is measured, not used: it is no dependency of media-stream. Its environment lives
under ``~/.media-stream/peers/quix`` with the few packages our outcome encoding needs (this tree
is put on its PYTHONPATH when it runs).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
QUIX_REQUIREMENTS = ("quixstreams==3.28.1", "fastavro>=1.10,<2", "pyyaml>=6.0,<7", "pydantic-settings>=2.6,<3")


def quix_python(home: Path) -> Path:
    """The peer environment's interpreter, created (uv venv + uv pip install) when missing."""
    venv = home / "peers" / "quix"
    python = venv / "bin" / "python"
    marker = venv / ".requirements"
    wanted = "\n".join(QUIX_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("the Quix Streams peer needs uv to build its environment (https://docs.astral.sh/uv/)")
    log.info("building the Quix Streams peer environment in %s", venv)
    subprocess.run([uv, "venv", "--quiet", "--allow-existing", "--python", "3.11", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *QUIX_REQUIREMENTS], check=True)
    marker.write_text(wanted)
    return python
