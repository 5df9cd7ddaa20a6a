"""Fixtures of the resume tests: a folder where flows leave a mark per task run (MARKS), so a
test counts what a resume ran again, and the plain progress display to read."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def marks(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "marks"
    folder.mkdir()
    monkeypatch.setenv("MARKS", str(folder))
    monkeypatch.setenv("FLOWASSETS_PROGRESS", "plain")
    return folder
