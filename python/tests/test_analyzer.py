"""The Python package against the CLI: the same inputs give the same events and messages."""

from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import microcue
from conftest import cli_events, event_records, repo_file, run_cli


def test_analyze_gives_the_events_of_the_cli(analyzer, cli, clips):
    found = 0
    for clip in clips[:2]:
        events = analyzer.analyze(clip, consent="self")
        assert isinstance(events, microcue.Events)
        assert list(events) == cli_events(cli, str(clip), "--consent", "self")
        assert events.summary["frames"] == 72
        assert events.summary["frames_with_face"] == 72
        found += len(events)
    assert found > 0, "the clips with a face have events"


def test_one_analyzer_gives_the_same_events_again(analyzer, clips):
    assert analyzer.analyze(clips[0], consent="given") == analyzer.analyze(str(clips[0]), consent="given")


def test_single_thread_gives_the_same_events(analyzer, clips):
    single = microcue.Analyzer(single_thread=True)
    for clip in clips[:2]:
        assert list(single.analyze(clip, consent="self")) == list(analyzer.analyze(clip, consent="self"))


def test_signals_are_the_cli_signals_and_give_the_same_events(analyzer, cli, clips, tmp_path):
    clip = clips[0]
    out = tmp_path / "signals.jsonl"
    result = run_cli(cli, "analyze", str(clip), "--consent", "self", "--signals-out", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    signals = analyzer.signals(clip, consent="self")
    assert len(signals) == len(rows) == 72
    assert signals.frames == 72
    assert signals.landmarks.shape == (72, 478, 3) and signals.landmarks.dtype == np.float32
    assert signals.blendshapes.shape == (72, 52) and signals.blendshapes.dtype == np.float32
    assert signals.head_pose.shape == (72, 3)
    assert signals.region_motion.shape == (72, 13, 2)
    assert np.array_equal(signals.times, [row["pts_s"] for row in rows])
    assert np.array_equal(signals.track, [row["track"] for row in rows])
    assert np.array_equal(signals.presence, np.array([row["presence"] for row in rows], dtype=np.float32))
    assert np.array_equal(signals.blendshapes, np.array([row["blendshapes"] for row in rows], dtype=np.float32))
    assert np.array_equal(signals.landmarks, np.array([row["landmarks_in_image"] for row in rows], dtype=np.float32))
    pose = [[row["head_pose"][k] for k in ("yaw_deg", "pitch_deg", "roll_deg")] for row in rows]
    assert np.array_equal(signals.head_pose, np.array(pose, dtype=np.float32))
    # A row without region motion (the first frame has no earlier one to compare with) is NaN.
    nan_motion = [[float("nan")] * 2] * 13
    motion = [row["region_motion"]["values"] if "region_motion" in row else nan_motion for row in rows]
    assert any("region_motion" in row for row in rows)
    assert np.array_equal(signals.region_motion, np.array(motion, dtype=np.float32), equal_nan=True)
    lags = [row["region_motion"]["lag_s"] if "region_motion" in row else float("nan") for row in rows]
    assert np.array_equal(signals.region_motion_lag_s, np.array(lags, dtype=np.float32), equal_nan=True)

    assert analyzer.analyze_signals(signals) == analyzer.analyze(clip, consent="self")
    assert list(analyzer.analyze_signals(signals)) == cli_events(cli, "--signals", str(out))


def test_arrays_you_bring_give_the_events_of_analyze_signals(analyzer, cli, tmp_path):
    trace = tmp_path / "trace.jsonl"
    result = run_cli(cli, "synth", "--seconds", "30", "--events", "8", "--seed", "3", "--region-motion", "--out", str(trace))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in trace.read_text().splitlines()]
    events = analyzer.analyze_signals(
        times=[row["pts_s"] for row in rows],
        blendshapes=[row["blendshapes"] for row in rows],
        track=[row["track"] for row in rows],
        presence=[row["presence"] for row in rows],
        head_pose=[[row["head_pose"][k] for k in ("yaw_deg", "pitch_deg", "roll_deg")] for row in rows],
        region_motion=[row["region_motion"]["values"] for row in rows],
        region_motion_lag_s=[row["region_motion"].get("lag_s", 0.0) for row in rows],
    )
    assert len(events) > 0
    assert list(events) == cli_events(cli, "--signals", str(trace))

    with pytest.raises(microcue.InputError, match="`blendshapes` has 51 values for 1 rows; expected 52 per row"):
        analyzer.analyze_signals(times=[0.0], blendshapes=np.zeros((1, 51)))
    with pytest.raises(microcue.InputError, match="row 1: presence must be in"):
        analyzer.analyze_signals(times=[0.0, 0.1], blendshapes=np.zeros((2, 52)), presence=[1.0, 2.0])


def test_openface_import_gives_the_events_and_notes_of_the_cli(analyzer, cli, tmp_path):
    csv = tmp_path / "openface.csv"
    lines = ["frame, face_id, timestamp, confidence, success, AU01_r, AU02_r, AU04_r, AU12_r, AU06_r"]
    for frame in range(150):
        t = frame / 30
        brow = 3.0 if 3.0 <= t < 3.25 else 0.1
        lines.append(f"{frame + 1}, 0, {t:.3f}, 0.98, 1, {brow}, {brow}, 0.1, 0.1, 0.1")
    csv.write_text("\n".join(lines) + "\n")
    signals = microcue.read_openface(csv)
    assert signals.landmarks is None and signals.region_motion is None
    assert "unilateral_lip_corner" in signals.unavailable_cues
    events = analyzer.analyze_signals(signals)
    assert [event["cue"] for event in events] == ["eyebrow_flash"]
    result = run_cli(cli, "analyze", "--openface", str(csv))
    assert list(events) == event_records(result.stdout)
    notes = [line[len("note: ") :] for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert signals.notes == notes

    csv.write_text("frame, timestamp, AU01_r\n1, 0.0, abc\n")
    result = run_cli(cli, "analyze", "--openface", str(csv))
    with pytest.raises(microcue.InputError) as error:
        microcue.read_openface(csv)
    assert f"error: {error.value}" == result.stderr.strip()


def test_no_face_is_a_warning_and_no_events(analyzer, cli, clips):
    with pytest.warns(microcue.NoFaceWarning, match="no face found in"):
        events = analyzer.analyze(clips[2], consent="given")
    assert events == [] and events.summary["frames"] == 95
    result = run_cli(cli, "analyze", str(clips[2]), "--consent", "given")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        analyzer.analyze(clips[2], consent="given")
    assert str(caught[0].message) in result.stderr


def test_errors_are_exceptions_with_the_cli_messages(analyzer, cli, tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes((i * 2654435761 >> 13) & 0xFF for i in range(40000)))
    for path in (garbage, tmp_path / "missing.mp4"):
        result = run_cli(cli, "analyze", str(path), "--consent", "self")
        assert result.returncode == 1
        with pytest.raises(microcue.InputError) as error:
            analyzer.analyze(path, consent="self")
        assert f"error: {error.value}" == result.stderr.strip()
        assert isinstance(error.value, microcue.MicrocueError)

    with pytest.raises(microcue.ConsentError, match='consent="self"') as error:
        analyzer.analyze(garbage)
    assert "microcue analyses other people only with their consent" in str(error.value)
    with pytest.raises(microcue.ConsentError, match='"self" or "given"'):
        analyzer.analyze(garbage, consent="yes")
    with pytest.raises(microcue.InputError, match="spotter settings"):
        microcue.Analyzer(spotter_config={"presence_min": "high"})


def test_a_broken_video_keeps_the_events_found_before_the_break(analyzer, cli, tmp_path):
    # This clip's index comes first, so a cut copy opens and decodes until the cut.
    data = repo_file("tests/data/faces/cap13_edit2.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 12 // 100])
    result = run_cli(cli, "analyze", str(cut), "--consent", "self")
    assert result.returncode == 1, result.stderr
    with pytest.raises(microcue.InputError) as error:
        analyzer.analyze(cut, consent="self")
    kept, cli_error = result.stderr.strip().splitlines()[-2:]
    assert str(error.value) == f"{cli_error[len('error: '):]}; {kept}"
    partial = event_records(result.stdout)
    assert len(partial) > 0, "events before the cut"
    assert list(error.value.events) == partial


def test_events_convert_to_arrow_and_pandas(analyzer, clips):
    import pyarrow as pa

    events = analyzer.analyze(clips[0], consent="self")
    table = events.to_arrow()
    assert table.schema == microcue.event_schema()
    assert table.num_rows == len(events)
    assert table.column("intensity").to_pylist() == [np.float32(e["intensity"]) for e in events]
    assert microcue.Events().to_arrow().num_rows == 0
    frame = events.to_pandas()
    assert list(frame.columns) == list(microcue.EVENT_COLUMNS)
    assert frame["cue"].tolist() == [e["cue"] for e in events]
    assert table.schema.field("intensity").type == pa.float32()
    assert table.schema.field("evidence").type.value_type.field("delta").type == pa.float32()


def test_lexicon_and_names_are_the_cli_ones(cli):
    result = run_cli(cli, "lexicon", "--json")
    assert microcue.lexicon() == json.loads(result.stdout)
    assert len(microcue.BLENDSHAPE_NAMES) == 52 and microcue.BLENDSHAPE_NAMES[44] == "mouthSmileLeft"
    assert microcue.REGION_NAMES[0] == "brow_left" and len(microcue.REGION_NAMES) == 13
    assert any(topic == "not a lie detector" for topic, _ in microcue.LIMITS)


def test_analysis_releases_the_gil(analyzer, clips):
    # While a video is analysed in a thread, this thread keeps running Python: with the GIL
    # held it would not run at all until the analysis ended.
    done = threading.Event()
    thread = threading.Thread(target=lambda: (analyzer.analyze(clips[1], consent="self"), done.set()))
    ticks = 0
    started = time.perf_counter()
    thread.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.002)
    thread.join()
    elapsed = time.perf_counter() - started
    assert elapsed > 0.2, "the analysis takes long enough to tell"
    assert ticks >= 20, f"only {ticks} ticks of this thread during a {elapsed:.2f} s analysis"
