"""Shared fixtures: one torch thread everywhere, the toy space/evaluator registered, temp stores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

import fakes  # registers the toy space and evaluator


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A fresh store path in a temporary directory."""
    return tmp_path / "study.db"


@pytest.fixture
def toy() -> object:
    return fakes
