"""Shared fixtures: the repository's clips, the CLI to compare with, one Analyzer per session."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import List

import pytest

import microcue

REPO = Path(__file__).resolve().parents[2]


def repo_file(relative: str) -> Path:
    path = REPO / relative
    if not path.is_file():
        pytest.fail(f"{path} is missing: it ships with the repository")
    return path


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `microcue` binary of this checkout (MICROCUE_BIN overrides)."""
    path = Path(os.environ.get("MICROCUE_BIN", REPO / "target" / "debug" / "microcue"))
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it first (`cargo build -p microcue`) or set MICROCUE_BIN")
    return path


def run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)


def event_records(stdout: str) -> List[dict]:
    """The event records of `microcue analyze`'s JSON Lines, without the record's `kind` and the
    reader's `state` (the package returns the events themselves; hypotheses are the CLI's)."""
    records = [json.loads(line) for line in stdout.splitlines()]
    events = [record for record in records if record.get("kind") == "event"]
    for event in events:
        del event["kind"]
        event.pop("state", None)
    return events


def cli_events(cli: Path, *args: str) -> List[dict]:
    """The events `microcue analyze ARGS` writes (JSON Lines), parsed."""
    result = run_cli(cli, "analyze", *args)
    assert result.returncode == 0, result.stderr
    return event_records(result.stdout)


@pytest.fixture(scope="session")
def analyzer() -> microcue.Analyzer:
    return microcue.Analyzer()


@pytest.fixture(scope="session")
def clips() -> List[Path]:
    """Two real clips with a face (a man, a woman) and one without."""
    return [
        repo_file("assets/single_face.mp4"),
        repo_file("tests/data/faces/WolfgangLanger_Pexels_3s.mp4"),
        repo_file("tests/data/faces/no_face.mp4"),
    ]
