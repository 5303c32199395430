"""The three ratios of docs/benchmarks.md, "Corpora", measured in pairs (A B A B ...):

1. `microcue batch --jobs 2` against `--jobs 1` (files per second on one corpus);
2. `microcue.Analyzer().analyze(path)` against the `microcue analyze` process on the same file
   (wall time; both load the models and analyse the file);
3. the Ray Data recipe with 2 workers against 1 worker on a local Ray of 2 CPUs.

Run it with a release build of the CLI and a release wheel installed in the running Python (the
commands are in docs/benchmarks.md, "Corpora", "Run"):

    VENV/bin/python scripts/bench-corpora.py --bin target/release/microcue --rounds 3

The corpus is made from the repository's clips by ffmpeg stream copy into a temporary folder:
`--corpus short` (the default): the 40 s talking-face clip and 20 s of cap13_edit2 (tests/data/faces)
cut at their keyframes into 250-frame clips, plus three short clips (9 clips, 1742 frames);
`--corpus long`: eval/footage/talking_face_part1.mp4 and _part2.mp4 cut into eight 25 s clips
(5000 frames), where the fixed costs of a run (start-up, loading the models) weigh less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parents[1]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *args], check=True)


def make_long_corpus(folder: Path) -> List[Path]:
    footage = REPO / "eval" / "footage"
    for part in (1, 2):
        for start in (0, 25, 50, 75):
            ffmpeg("-ss", str(start), "-i", str(footage / f"talking_face_part{part}.mp4"), "-t", "25",
                   "-map", "0:v:0", "-c", "copy", str(folder / f"tf{part}_{start}.mp4"))
    return sorted(folder.glob("*.mp4"))


def make_corpus(folder: Path) -> List[Path]:
    faces = REPO / "tests" / "data" / "faces"

    ffmpeg("-i", str(faces / "talking_face_40s.mp4"), "-map", "0:v:0", "-c", "copy", "-f", "segment",
           "-segment_time", "10", "-reset_timestamps", "1", str(folder / "tf%d.mp4"))
    ffmpeg("-i", str(faces / "cap13_edit2.mp4"), "-map", "0:v:0", "-c", "copy", "-frames:v", "250",
           str(folder / "cap13_a.mp4"))
    ffmpeg("-ss", "10", "-i", str(faces / "cap13_edit2.mp4"), "-map", "0:v:0", "-c", "copy",
           "-frames:v", "250", str(folder / "cap13_b.mp4"))
    for clip in (faces / "WolfgangLanger_Pexels_3s.mp4", faces / "no_face.mp4", REPO / "assets" / "single_face.mp4"):
        shutil.copy(clip, folder / clip.name)
    return sorted(folder.glob("*.mp4"))


def paired(label_a: str, run_a: Callable[[], float], label_b: str, run_b: Callable[[], float], rounds: int) -> Dict:
    """Times A and B alternately; returns the medians and the ratio of medians (A / B)."""
    times: Dict[str, List[float]] = {label_a: [], label_b: []}
    for _ in range(rounds):
        times[label_a].append(run_a())
        times[label_b].append(run_b())
    medians = {label: statistics.median(values) for label, values in times.items()}
    per_round = [a / b for a, b in zip(times[label_a], times[label_b])]
    return {"seconds": times, "median_s": medians, "ratio": medians[label_a] / medians[label_b], "per_round": per_round}


def timed(command: List[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 2):
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "release" / "microcue"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["batch", "python", "ray"], action="append")
    parser.add_argument("--corpus", choices=["short", "long"], default="short")
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"bench-corpora: error: no microcue binary at {args.bin}\n"
                 "hint: cargo build --release -p microcue -p microcue_python --bin microcue (docs/benchmarks.md, Corpora)")
    if shutil.which("ffmpeg") is None:
        sys.exit("bench-corpora: error: ffmpeg is missing (it cuts the corpus)\nhint: scripts/ci-deps.sh, or apt-get install ffmpeg")
    only = set(args.only or ["batch", "python", "ray"])
    work = Path(tempfile.mkdtemp(prefix="microcue-bench-"))
    (work / "corpus").mkdir()
    corpus = (make_long_corpus if args.corpus == "long" else make_corpus)(work / "corpus")
    results: Dict[str, object] = {"corpus": args.corpus, "corpus_files": len(corpus)}

    if "batch" in only:
        runs = iter(range(10**6))

        def batch(jobs: int) -> Callable[[], float]:
            def run() -> float:
                out = work / f"batch-{next(runs)}"
                return timed([args.bin, "batch", str(work / "corpus"), "--out", str(out), "--jobs", str(jobs),
                              "--consent", "self", "--quiet"])
            return run

        results["batch"] = paired("jobs1", batch(1), "jobs2", batch(2), args.rounds)

    if "python" in only:
        import microcue

        clip = next(path for path in corpus if path.name.startswith("tf"))
        def python() -> float:
            # Like the CLI: load the models, then analyse (the interpreter is already running).
            started = time.perf_counter()
            microcue.Analyzer().analyze(clip, consent="self")
            return time.perf_counter() - started

        def cli() -> float:
            return timed([args.bin, "analyze", str(clip), "--consent", "self", "--quiet"])

        results["python"] = paired("cli", cli, "analyzer", python, args.rounds)

    if "ray" in only:
        import ray

        examples = str(REPO / "python" / "examples")
        sys.path.insert(0, examples)
        from ray_corpus import analyze_corpus

        # Ray's workers unpickle the recipe's class by module name: they need the folder too.
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [examples, os.environ.get("PYTHONPATH")]))
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20)
        ray.data.DataContext.get_current().enable_progress_bars = False
        paths = [str(path) for path in corpus]
        runs = iter(range(10**6))

        def ray_run(workers: int) -> Callable[[], float]:
            def run() -> float:
                out = work / f"ray-{next(runs)}"
                return analyze_corpus(paths, str(out), "self", workers)["seconds"]
            return run

        results["ray"] = paired("workers1", ray_run(1), "workers2", ray_run(2), args.rounds)
        ray.shutdown()

    print(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
