"""The Ray Data recipe (examples/ray_corpus.py) on a local Ray cluster of 2 CPUs: its tables hold
the events the CLI finds in the same files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from conftest import REPO, cli_events


def comparable(event: dict) -> dict:
    """An event with its 32-bit floats as float32 (Parquet keeps the spotter's f32; the CLI
    writes each as its shortest decimal)."""
    event = {key: value for key, value in event.items() if key != "path"}
    event["intensity"] = np.float32(event["intensity"])
    event["confidence"] = np.float32(event["confidence"])
    event["evidence"] = [
        {"channel": item["channel"], "delta": np.float32(item["delta"])} for item in event.get("evidence", [])
    ]
    return event


def test_ray_recipe_on_two_local_cpus_gives_the_cli_events(cli, clips, tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes((i * 2654435761 >> 13) & 0xFF for i in range(40000)))
    paths = [str(clip) for clip in clips] + [str(garbage)]
    out = tmp_path / "out"
    script = REPO / "python" / "examples" / "ray_corpus.py"
    command = [sys.executable, str(script), "--consent", "self", "--out", str(out), "--num-cpus", "2"]
    command += ["--workers", "2", "--object-store-mb", "256", "--quiet", *paths]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 2, f"one file fails, the job does not:\n{result.stderr[-5000:]}"
    assert "4 file(s)" in result.stderr and "1 failed" in result.stderr, result.stderr[-3000:]

    status = pq.read_table(out / "status").to_pylist()
    by_path = {row["path"]: row for row in status}
    assert sorted(by_path) == sorted(paths)
    assert [by_path[path]["status"] for path in paths] == ["ok", "ok", "no_face", "error"]
    assert "garbage.mp4" in by_path[str(garbage)]["message"]
    assert by_path[paths[0]]["frames"] == 72

    events = pq.read_table(out / "events")
    found = 0
    for clip in clips:
        rows = events.filter(pc.equal(events["path"], str(clip))).to_pylist()
        expected = cli_events(cli, str(clip), "--consent", "self")
        assert [comparable(row) for row in rows] == [comparable(event) for event in expected], clip
        found += len(rows)
    assert found > 0 and found == events.num_rows
