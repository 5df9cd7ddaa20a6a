"""Chaos fixtures: a small tmpfs as the local artifact store (see tests/chaos/tmpfs.py)."""

from __future__ import annotations

import pytest

from tests.chaos.tmpfs import mount_tmpfs


@pytest.fixture
def small_tmpfs(tmp_path):
    """An 8 MB tmpfs at tmp_path/store, made the default local store; always unmounted."""
    fs = mount_tmpfs(tmp_path / "store", "8m")
    try:
        yield fs
    finally:
        fs.unmount()
