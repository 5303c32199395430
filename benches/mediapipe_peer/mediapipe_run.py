#!/usr/bin/env python3
"""Runs MediaPipe's own FaceLandmarker (Python `mediapipe`, VIDEO mode) on a clip: the peer side of
the microcue benchmark.

Decoding (--decoder): `pyav` (the default; FFmpeg's libavcodec, bundled in the `av` wheel, one
decoder thread, frames in presentation order, pts from the container with edit lists applied) or
`opencv` (`cv2.VideoCapture` with its own defaults, as most MediaPipe examples decode; pts from
CAP_PROP_POS_MSEC; needs the opencv wheel that mediapipe 1.x depends on). Every decoded frame is
converted to RGB24 and passed to `FaceLandmarker.detect_for_video` with the timestamp
round(pts_s * 1000) ms (bumped by 1 ms if two frames round to the same millisecond, which MediaPipe
rejects).

Output (--out, optional: without it nothing is written, for whole-process timing): one JSON object
per decoded frame:
  {"pts_s": float, "landmarks_in_image": [[x, y, z] * 478], "blendshapes": [52 floats]}
x, y in image pixels (normalized x * width, y * height), z * width (MediaPipe's z is in the scale of
x); blendshapes in MediaPipe order (index 0 `_neutral`). Both lists are empty when no face was found.

Threads: MediaPipe's Tasks API has no thread-count option. Its TFLite inference uses XNNPACK with
1 thread by default on desktop Linux builds (mediapipe/calculators/tensor/inference_calculator_utils.cc),
but the graph's default executor is a thread pool sized to the CPU count, so calculators of one frame
can run on different cores. For a one-core comparison run this script under `taskset -c 0` (run.sh
does); the script prints the CPU affinity, the process's thread count and CPU time / wall time over
the inference calls so the setting can be checked.

Usage: mediapipe_run.py VIDEO [--out mp.jsonl] [--decoder pyav|opencv]
                         [--model benches/.venv/face_landmarker_v2.task]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import NoReturn

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE.parent / ".venv" / "face_landmarker_v2.task"


def fail(message: str) -> NoReturn:
    print(f"mediapipe_run.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def decode_pyav(video: Path):
    """Yields the decoder's name, then (RGB24 array, pts in seconds) per frame in presentation
    order: PyAV, one decoder thread."""
    try:
        import av
    except ImportError as err:
        fail(f"{err}; --decoder pyav needs the `av` wheel (benches/mediapipe_peer/setup.sh installs it)")
    try:
        container = av.open(str(video))
    except av.error.FFmpegError as err:
        fail(f"{video}: FFmpeg cannot open it: {err}")
    if not container.streams.video:
        fail(f"{video}: no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1
    fps_guess = float(stream.average_rate or stream.guessed_rate or 30)
    yield f"PyAV {av.__version__} / FFmpeg, 1 thread"
    index = 0
    try:
        for frame in container.decode(stream):
            pts_s = float(frame.time) if frame.time is not None else index / fps_guess
            yield frame.to_ndarray(format="rgb24"), pts_s
            index += 1
    except av.error.FFmpegError as err:
        fail(f"{video}: decoding failed after frame {index}: {err}")
    finally:
        container.close()


def decode_opencv(video: Path):
    """Yields the decoder's name, then (RGB24 array, pts in seconds) per frame: cv2.VideoCapture
    with OpenCV's default settings, as users of MediaPipe decode."""
    try:
        import cv2
    except ImportError as err:
        fail(f"{err}; --decoder opencv needs opencv (a dependency of mediapipe 1.x; setup.sh 1.2.3)")
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        fail(f"{video}: OpenCV cannot open it")
    yield f"OpenCV {cv2.__version__} VideoCapture ({capture.getBackendName()})"
    rgb = None
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            pts_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=rgb if rgb is not None and rgb.shape == bgr.shape else None)
            yield rgb, pts_s
    finally:
        capture.release()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path, help="video file (anything FFmpeg decodes)")
    parser.add_argument("--out", type=Path, help="JSONL output, one line per frame (default: none)")
    parser.add_argument("--decoder", choices=("pyav", "opencv"), default="pyav", help="video decoder")
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help=f"face_landmarker_v2.task (default: {DEFAULT_MODEL}, put there by setup.sh)",
    )
    parser.add_argument(
        "--max-frames", type=int, default=0, help="stop after this many frames (0: all)"
    )
    args = parser.parse_args()

    if not args.video.is_file():
        fail(f"{args.video}: no such video file")
    if not args.model.is_file():
        fail(f"{args.model}: model bundle not found; run benches/mediapipe_peer/setup.sh first")

    try:
        import mediapipe as mp
        import numpy as np

        sys.path.insert(0, str(HERE))
        from compare import BLENDSHAPE_COUNT, BLENDSHAPE_NAMES, LANDMARK_COUNT
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import (
            FaceLandmarker,
            FaceLandmarkerOptions,
            RunningMode,
        )
    except ImportError as err:
        fail(f"{err}; run with benches/.venv/bin/python after benches/mediapipe_peer/setup.sh")

    affinity = sorted(os.sched_getaffinity(0))
    threads_before = thread_count()
    options = FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(args.model)),
        running_mode=RunningMode.VIDEO,
        num_faces=1,
        output_face_blendshapes=True,
    )
    t0 = time.perf_counter()
    try:
        landmarker = FaceLandmarker.create_from_options(options)
    except Exception as err:  # MediaPipe raises RuntimeError/ValueError with its status text
        fail(f"{args.model}: MediaPipe could not load the bundle: {err}")
    create_ms = (time.perf_counter() - t0) * 1000.0

    frames = decode_pyav(args.video) if args.decoder == "pyav" else decode_opencv(args.video)
    decoder_name = next(frames)

    decode_ms: list[float] = []
    infer_ms: list[float] = []
    infer_cpu_s = 0.0
    frames_with_face = 0
    last_ts_ms = -1
    frame_index = 0
    width = height = 0
    threads_during = 0
    rgb_buf = None
    out = None
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = open(args.out, "w", encoding="utf-8")

    while True:
        t_dec = time.perf_counter()
        try:
            rgb, pts_s = next(frames)
        except StopIteration:
            break
        # PyAV returns a strided view when a row is padded (e.g. 360 px wide: 1080 bytes of RGB in
        # 1104-byte rows), and mediapipe 0.10.31's ctypes Image ignores strides: copy into one
        # reused contiguous buffer.
        if not rgb.flags.c_contiguous:
            if rgb_buf is None or rgb_buf.shape != rgb.shape:
                rgb_buf = np.empty(rgb.shape, dtype=np.uint8)
            np.copyto(rgb_buf, rgb)
            rgb = rgb_buf
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        t_inf = time.perf_counter()
        decode_ms.append((t_inf - t_dec) * 1000.0)

        ts_ms = max(int(round(pts_s * 1000.0)), last_ts_ms + 1)
        last_ts_ms = ts_ms

        cpu0 = time.process_time()
        t_inf = time.perf_counter()
        try:
            result = landmarker.detect_for_video(image, ts_ms)
        except Exception as err:
            fail(f"{args.video}: MediaPipe failed at frame {frame_index} (pts {pts_s:.3f} s): {err}")
        infer_ms.append((time.perf_counter() - t_inf) * 1000.0)
        infer_cpu_s += time.process_time() - cpu0
        if frame_index == 10:
            threads_during = thread_count()

        height, width = rgb.shape[0], rgb.shape[1]
        record: dict = {"pts_s": round(pts_s, 6), "landmarks_in_image": [], "blendshapes": []}
        if result.face_landmarks:
            frames_with_face += 1
            landmarks = result.face_landmarks[0]
            if len(landmarks) != LANDMARK_COUNT:
                fail(f"frame {frame_index}: MediaPipe returned {len(landmarks)} landmarks, expected {LANDMARK_COUNT}")
            record["landmarks_in_image"] = [
                [round(p.x * width, 3), round(p.y * height, 3), round(p.z * width, 3)]
                for p in landmarks
            ]
            if result.face_blendshapes:
                cats = sorted(result.face_blendshapes[0], key=lambda c: c.index)
                if len(cats) != BLENDSHAPE_COUNT:
                    fail(f"frame {frame_index}: MediaPipe returned {len(cats)} blendshapes, expected {BLENDSHAPE_COUNT}")
                record["blendshapes"] = [round(float(c.score), 6) for c in cats]
                if frames_with_face == 1:
                    names = [c.category_name for c in cats]
                    if names != BLENDSHAPE_NAMES:
                        bad = next(k for k, (a, b) in enumerate(zip(names, BLENDSHAPE_NAMES)) if a != b)
                        fail(f"MediaPipe's blendshape {bad} is {names[bad]!r}, expected {BLENDSHAPE_NAMES[bad]!r}: "
                             "the order differs from microcue's (signals.rs BLENDSHAPE_NAMES)")
        if out is not None:
            out.write(json.dumps(record, separators=(",", ":")))
            out.write("\n")
        frame_index += 1
        if args.max_frames and frame_index >= args.max_frames:
            break

    if out is not None:
        out.close()
    frames.close()
    landmarker.close()

    n = len(infer_ms)
    if n == 0:
        fail(f"{args.video}: no frames decoded")
    infer_total_s = sum(infer_ms) / 1000.0
    e2e_total_s = (sum(infer_ms) + sum(decode_ms)) / 1000.0
    print(f"video: {args.video} ({width}x{height}, {n} frames, decoder: {decoder_name})")
    print(f"mediapipe: {mp.__version__}, model: {args.model}, create: {create_ms:.0f} ms")
    print(f"frames_with_face: {frames_with_face}/{n}")
    print(f"cpu_affinity: {','.join(map(str, affinity))} | threads: {threads_before} before create, "
          f"{threads_during if threads_during else thread_count()} while running | "
          f"inference cpu/wall: {infer_cpu_s / infer_total_s:.2f}")
    print(f"inference_fps: {n / infer_total_s:.1f}   (detect_for_video only)")
    print(f"end_to_end_fps: {n / e2e_total_s:.1f}   (decode + RGB convert + inference; JSON writing excluded)")
    print(f"median_ms_per_frame: inference {statistics.median(infer_ms):.2f}, "
          f"end-to-end {statistics.median([a + b for a, b in zip(decode_ms, infer_ms)]):.2f}, "
          f"decode {statistics.median(decode_ms):.2f}")
    print(f"inference_cpu_ms_per_frame: {infer_cpu_s * 1000.0 / n:.2f}   (process CPU time, all threads; "
          f"less sensitive than wall time to other load on the machine)")
    if len(affinity) > 1 and infer_cpu_s / infer_total_s > 1.1:
        print(f"warning: inference used {infer_cpu_s / infer_total_s:.2f} cores on average; "
              f"pin to one core with `taskset -c 0` for a one-thread comparison", file=sys.stderr)
    if out is not None:
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
