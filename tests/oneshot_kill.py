"""Kill a one-shot search with SIGKILL at an epoch, in a child process (the one-shot resume tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from tests.tiny import tiny_task
from nasforge import spaces
from {module} import {name}
def on_epoch(s):
    if s.epoch == {epoch}:
        os.kill(os.getpid(), signal.SIGKILL)
{name}(spaces.create("edge-cell", channels=4, nodes=3), tiny_task("1d", n=48), epochs={epochs},
       checkpoint_dir=sys.argv[1], **{options!r}).run(on_epoch)
"""


def kill_search_at_epoch(tmp_path: Path, search_class: type, epoch: int, epochs: int = 3,
                         **options: Any) -> Path:
    """Run ``search_class`` (an edge-cell supernet search of ``epochs`` epochs on ``tiny_task("1d",
    n=48)``) in a child process killed by SIGKILL after ``epoch``; returns its checkpoint folder."""
    root = str(Path(__file__).resolve().parents[1])
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT.format(root=root, module=search_class.__module__, name=search_class.__name__,
                                     epoch=epoch, epochs=epochs, options=options))
    checkpoint_dir = tmp_path / "a"
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
    killed = subprocess.run([sys.executable, str(script), str(checkpoint_dir)], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    return checkpoint_dir
