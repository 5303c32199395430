"""Analyse a corpus of recordings with Ray Data: one microcue Analyzer per worker, results as
Parquet. The recipe of docs/python.md.

    pip install ./python ray[data]          # on every machine of the cluster
    python python/examples/ray_corpus.py --consent given --out results corpus/*.mp4

Writes ``OUT/events/`` (one row per event: the path, then the columns of ``microcue analyze``)
and ``OUT/status/`` (one row per file: ok / no_face / error with its message, frames, duration,
fps, seconds), each a folder of Parquet files. On a cluster, start Ray on each node
(``ray start --head`` on one, ``ray start --address HEAD:6379`` on the others), put the
recordings where every node reads them under the same path (a shared file system), and run
this script on the head node with ``--address auto``.

Every event is a hypothesis with a confidence, never a verdict: no lie detection, no diagnosis.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any, Dict, List

import pyarrow as pa
import pyarrow.compute as pc

import microcue

EVIDENCE = pa.struct([pa.field("channel", pa.string(), nullable=False), pa.field("delta", pa.float32(), nullable=False)])

#: One row per file: its status and its events (exploded into the events table at the end).
FILE_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("frames", pa.uint64(), nullable=False),
        pa.field("frames_with_face", pa.uint64(), nullable=False),
        pa.field("duration_s", pa.float64()),
        pa.field("fps", pa.float64()),
        pa.field("seconds", pa.float64(), nullable=False),
        pa.field("events", pa.list_(pa.field("item", pa.struct(list(microcue.event_schema())), nullable=False))),
    ]
)


class AnalyzeRecordings:
    """A Ray Data callable class: Ray builds one per worker, so the face models load once per
    worker; each call analyses a batch of paths and returns one row per file."""

    def __init__(self, consent: str, **analyzer_options: Any):
        self.consent = consent
        # Ray gives each worker one CPU: the analysis stays on one thread.
        analyzer_options.setdefault("single_thread", True)
        self.analyzer = microcue.Analyzer(**analyzer_options)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows: List[Dict[str, Any]] = []
        for path in batch.column("path").to_pylist():
            started = time.perf_counter()
            status, message = "ok", ""
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", microcue.NoFaceWarning)
                    events = self.analyzer.analyze(path, consent=self.consent)
                if not events.summary["frames_with_face"]:
                    status, message = "no_face", "no face found"
            except microcue.MicrocueError as error:
                # A bad file is a row of the status table, not the end of the job.
                status, message = "error", str(error)
                events = getattr(error, "events", microcue.Events())
            summary = events.summary
            rows.append(
                {
                    "path": path,
                    "status": status,
                    "message": message,
                    "frames": summary.get("frames", 0),
                    "frames_with_face": summary.get("frames_with_face", 0),
                    "duration_s": summary.get("duration_s"),
                    "fps": summary.get("fps"),
                    "seconds": time.perf_counter() - started,
                    "events": [{**event, "evidence": event.get("evidence", [])} for event in events],
                }
            )
        return pa.Table.from_pylist(rows, schema=FILE_SCHEMA)


def explode_events(files: pa.Table) -> pa.Table:
    """One row per event: the file's path, then the event's columns."""
    events = files.column("events").combine_chunks()
    parents = pc.list_parent_indices(events)
    flat = pc.list_flatten(events)
    columns = {"path": pc.take(files.column("path"), parents)}
    for index, field in enumerate(flat.type):
        columns[field.name] = flat.field(index)
    schema = pa.schema([pa.field("path", pa.string(), nullable=False)] + list(microcue.event_schema()))
    return pa.table(columns, schema=schema)


def analyze_corpus(paths: List[str], out: str, consent: str, workers: int, **analyzer_options: Any) -> Dict[str, Any]:
    """Runs the recipe on a started Ray; returns counts and the wall time of the analysis."""
    import ray

    started = time.perf_counter()
    files = ray.data.from_items([{"path": path} for path in paths], override_num_blocks=len(paths))
    files = files.map_batches(
        AnalyzeRecordings,
        fn_constructor_kwargs={"consent": consent, **analyzer_options},
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
        batch_size=1,
        batch_format="pyarrow",
    ).materialize()
    seconds = time.perf_counter() - started
    files.drop_columns(["events"]).write_parquet(os.path.join(out, "status"))
    files.map_batches(explode_events, batch_format="pyarrow").write_parquet(os.path.join(out, "events"))
    status = files.drop_columns(["events"]).to_pandas()
    return {
        "files": len(status),
        "frames": int(status["frames"].sum()),
        "failed": int((status["status"] == "error").sum()),
        "seconds": seconds,
    }


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="recordings (every node must read them under these paths)")
    parser.add_argument("--out", required=True, help="output folder (events/ and status/ Parquet)")
    parser.add_argument("--consent", required=True, choices=["self", "given"], help="whose recordings these are")
    parser.add_argument("--workers", type=int, default=None, help="Analyzers at once (default: the cluster's CPUs)")
    parser.add_argument("--address", default=None, help="a running Ray cluster (`auto`); default: start one here")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray started here")
    parser.add_argument("--object-store-mb", type=int, default=None, help="object store size of the local Ray")
    parser.add_argument("--quiet", action="store_true", help="no Ray Data progress bars")
    args = parser.parse_args(argv)

    import ray

    ray.init(
        address=args.address,
        num_cpus=args.num_cpus,
        object_store_memory=args.object_store_mb * 2**20 if args.object_store_mb else None,
        include_dashboard=False,
    )
    if args.quiet:
        ray.data.DataContext.get_current().enable_progress_bars = False
    workers = args.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    result = analyze_corpus(args.paths, args.out, args.consent, workers)
    print(
        f"{result['files']} file(s), {result['frames']} frames in {result['seconds']:.1f} s "
        f"({result['frames'] / max(result['seconds'], 1e-9):.1f} frames/s) with {workers} worker(s); "
        f"{result['failed']} failed; tables in {args.out}/events and {args.out}/status",
        file=sys.stderr,
    )
    ray.shutdown()
    return 2 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
