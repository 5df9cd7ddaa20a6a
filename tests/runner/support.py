"""Shared by the tests of this directory: a flow module executed without a sys.modules entry."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FLOWS = Path(__file__).resolve().parent / "flows"


def load_without_registering(path: Path) -> type:
    """``LoadedFlow`` from ``path``, as ``module_from_spec`` + ``exec_module`` leave it."""
    spec = importlib.util.spec_from_file_location("loaded_without_entry", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "loaded_without_entry" not in sys.modules
    return module.LoadedFlow
