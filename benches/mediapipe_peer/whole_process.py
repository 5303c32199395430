#!/usr/bin/env python3
"""Whole-process peer benchmark: `microcue analyze` against MediaPipe's FaceLandmarker (the newest
release and 0.10.31), paired, on the same clips, pinned to one core and unpinned.

Each run is one process from start to exit, timed from outside: wall time, CPU time (user + system
of the process and its threads) and peak RSS (`wait4`'s ru_maxrss). Per frame = wall / frames.

  microcue   MICROCUE analyze CLIP --consent self --quiet -o OUT/events.jsonl
             (everything it ships with: decode, tracking, blendshapes, region motion, spotting)
  mediapipe  VENV/bin/python mediapipe_run.py CLIP [--decoder opencv]  (no JSON output written)
             1.2.3: benches/.venv-mediapipe-1.2.3, OpenCV decoding (cv2.VideoCapture, as users do)
             0.10.31: benches/.venv, PyAV decoding (the per-frame script's default)

Every run, microcue's too, runs inside `unshare -n` (a network namespace with no interface), so
that MediaPipe 1.x's usage logging cannot reach anything. Pinned runs add `taskset -c CORE`.

Runs are paired: per clip and setting, round after round of (microcue, 1.2.3, 0.10.31), the order
rotated each round, so load that comes and goes hits all three alike. The table gives medians of
`--rounds` runs and ratio = MediaPipe's median wall time / microcue's (above 1: microcue is
faster), with the range of the per-round ratios, and the same ratio of CPU times (steadier than
wall time when other work shares the machine). Printed as Markdown rows for docs/benchmarks.md,
with the load average before and after; every run is kept in OUT/whole_process.json.

Usage: whole_process.py [--rounds 3] [--clips talking_face_part1.mp4,WolfgangLanger_Pexels.mp4]
                        [--settings pinned,unpinned] [--core 0] [--out DIR]
  FACES=dir  where the clips are (default: eval/footage of this repository)
  MICROCUE=path  the binary (default: target/release/microcue)
Needs: benches/mediapipe_peer/setup.sh done, `unshare` (util-linux; root or unprivileged user
namespaces), `taskset`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NEWEST = "1.2.3"
DEFAULT_CLIPS = "talking_face_part1.mp4,WolfgangLanger_Pexels.mp4"


class BenchError(Exception):
    pass


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def network_isolation() -> list[str]:
    """The prefix that runs a command without network: `unshare -n` as root, `unshare -rn` else."""
    if shutil.which("unshare") is None:
        raise BenchError("`unshare` not found\nhint: apt-get install util-linux")
    for prefix in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    raise BenchError("`unshare -n` fails here (no permission for a network namespace)\n"
                     "hint: run as root, or enable unprivileged user namespaces "
                     "(sysctl kernel.unprivileged_userns_clone=1)")


def timed(command: list[str], log: Path) -> dict:
    """Runs `command` to completion with stdout + stderr to `log`; wall, CPU and peak RSS."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(command)} exited with {process.returncode} (log: {log}):\n  "
                         + "\n  ".join(tail))
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024.0}


def frames_in(log: Path, pattern: str) -> int:
    match = re.search(pattern, log.read_text(errors="replace"))
    if not match:
        raise BenchError(f"{log}: no frame count (/{pattern}/) in the output")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="comma-separated names in FACES")
    parser.add_argument("--settings", default="pinned,unpinned", help="pinned, unpinned or both")
    parser.add_argument("--core", type=int, default=0, help="the core of the pinned runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "whole_process")
    args = parser.parse_args()
    try:
        return run(args)
    except BenchError as err:
        print(f"whole_process.py: error: {err}", file=sys.stderr)
        return 2


def run(args) -> int:
    faces = Path(os.environ.get("FACES", ROOT / "eval" / "footage"))
    microcue = Path(os.environ.get("MICROCUE", ROOT / "target" / "release" / "microcue"))
    if not os.access(microcue, os.X_OK):
        raise BenchError(f"{microcue}: not an executable\nhint: cargo build --release -p microcue, "
                         "or MICROCUE=path/to/microcue")
    venvs = {NEWEST: ROOT / "benches" / f".venv-mediapipe-{NEWEST}", "0.10.31": ROOT / "benches" / ".venv"}
    for version, venv in venvs.items():
        if not (venv / "bin" / "python").exists():
            raise BenchError(f"{venv}: no venv for mediapipe {version}\nhint: benches/mediapipe_peer/setup.sh")
    model = ROOT / "benches" / ".venv" / "face_landmarker_v2.task"
    if not model.exists():
        raise BenchError(f"{model}: missing\nhint: benches/mediapipe_peer/setup.sh")
    settings = [s for s in args.settings.split(",") if s]
    if any(s not in ("pinned", "unpinned") for s in settings) or args.rounds < 1:
        raise BenchError("--settings takes pinned and/or unpinned; --rounds at least 1")
    if "pinned" in settings and shutil.which("taskset") is None:
        raise BenchError("`taskset` not found\nhint: apt-get install util-linux")
    isolate = network_isolation()
    args.out.mkdir(parents=True, exist_ok=True)

    clips = [faces / name for name in args.clips.split(",") if name]
    for clip in clips:
        if not clip.is_file():
            raise BenchError(f"{clip}: no such clip\nhint: FACES=dir names the folder that holds it")

    def peers(clip: Path, tag: str) -> dict[str, tuple[list[str], str]]:
        """name -> (command, regex of its frame count)."""
        run_py = str(HERE / "mediapipe_run.py")
        return {
            "microcue": ([str(microcue), "analyze", str(clip), "--consent", "self", "--quiet",
                          "-o", str(args.out / f"{tag}.events.jsonl")], r"in (\d+) frame"),
            f"mediapipe {NEWEST}": ([str(venvs[NEWEST] / "bin" / "python"), run_py, str(clip),
                                     "--decoder", "opencv", "--model", str(model)], r"\((?:\d+)x(?:\d+), (\d+) frames"),
            "mediapipe 0.10.31": ([str(venvs["0.10.31"] / "bin" / "python"), run_py, str(clip),
                                   "--model", str(model)], r"\((?:\d+)x(?:\d+), (\d+) frames"),
        }

    load_before = load_average()
    print(f"load average before: {load_before}; {args.rounds} round(s); microcue {microcue}; "
          f"isolation: {' '.join(isolate)}", flush=True)
    results = []
    for clip in clips:
        for setting in settings:
            pin = ["taskset", "-c", str(args.core)] if setting == "pinned" else []
            tag = f"{clip.stem}.{setting}"
            commands = peers(clip, tag)
            names = list(commands)
            runs: dict[str, list[dict]] = {name: [] for name in names}
            for round_index in range(args.rounds):
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    command, frames_pattern = commands[name]
                    log = args.out / f"{tag}.{name.replace(' ', '-')}.{round_index}.log"
                    measured = timed([*isolate, *pin, *command], log)
                    measured["frames"] = frames_in(log, frames_pattern)
                    measured["round"] = round_index
                    runs[name].append(measured)
                    print(f"  {clip.name} {setting} round {round_index + 1} {name}: "
                          f"{measured['wall_s']:.2f} s wall, {measured['cpu_s']:.2f} s CPU, "
                          f"{measured['rss_mb']:.0f} MB, {measured['frames']} frames", flush=True)
            results.append({"clip": clip.name, "setting": setting, "runs": runs})
    load_after = load_average()

    (args.out / "whole_process.json").write_text(json.dumps(
        {"load_before": load_before, "load_after": load_after, "rounds": args.rounds,
         "microcue": str(microcue), "results": results}, indent=1))

    def median(values):
        return statistics.median(values)

    print()
    print(f"load average before {load_before}, after {load_after}")
    print()
    print(f"| clip | cores | microcue wall s (ms/frame) | MediaPipe {NEWEST} wall s (ms/frame) | ratio | "
          "MediaPipe 0.10.31 wall s (ms/frame) | ratio | CPU s: microcue / "
          f"{NEWEST} / 0.10.31 | CPU ratio {NEWEST} / 0.10.31 | peak RSS MB: microcue / {NEWEST} / 0.10.31 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        runs = result["runs"]
        ours = runs["microcue"]
        cells = []
        for name in runs:
            wall = median([r["wall_s"] for r in runs[name]])
            frames = runs[name][0]["frames"]
            cells.append(f"{wall:.1f} ({wall * 1000.0 / frames:.1f})")
        ratios = []
        for name in list(runs)[1:]:
            ratio = median([r["wall_s"] for r in runs[name]]) / median([r["wall_s"] for r in ours])
            per_round = [theirs["wall_s"] / mine["wall_s"] for theirs, mine in zip(runs[name], ours)]
            ratios.append(f"**{ratio:.2f}** ({min(per_round):.2f}-{max(per_round):.2f})")
        cpu = " / ".join(f"{median([r['cpu_s'] for r in runs[name]]):.1f}" for name in runs)
        cpu_ratio = " / ".join(
            f"{median([r['cpu_s'] for r in runs[name]]) / median([r['cpu_s'] for r in ours]):.2f}"
            for name in list(runs)[1:])
        rss = " / ".join(f"{median([r['rss_mb'] for r in runs[name]]):.0f}" for name in runs)
        cores = "1 (`taskset -c 0`)" if result["setting"] == "pinned" else "2 (unpinned)"
        print(f"| {result['clip']} | {cores} | {cells[0]} | {cells[1]} | {ratios[0]} | {cells[2]} | "
              f"{ratios[1]} | {cpu} | {cpu_ratio} | {rss} |")
    print()
    print(f"runs and logs: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
