#!/usr/bin/env python3
"""Compares microcue's face signals with MediaPipe FaceLandmarker's output on the same clip.

OURS.jsonl: microcue's signals format (crates/microcue_core/src/signals.rs, FaceSignals): one JSON
object per line with `pts_s`, `track`, `presence`, `landmarks_in_image` (478 [x, y, z] in image
pixels, or empty), `blendshapes` (52, MediaPipe order), `head_pose`, optional `region_motion`.
Frames without a face have no line. With several faces in a frame, the one with the highest
`presence` is used (MediaPipe runs with num_faces=1).

MP.jsonl: mediapipe_run.py's output, one line per decoded frame, empty lists when no face.

Frames are matched by pts: each MediaPipe frame takes the nearest of our records within half a
frame period (the median pts step of MP.jsonl). Printed:
  - frame counts (faces found by each side, matched, found by one side only);
  - landmark distance in pixels (x, y only) over all 478 points of all frames where both found a
    face: mean, median, p95, and the mean relative to the inter-ocular distance (outer eye corners,
    landmarks 33 and 263);
  - per blendshape: Pearson correlation over matched frames when its standard deviation exceeds
    0.01 in either run ("does not move" otherwise), mean absolute difference, and both std's.

Usage: compare.py OURS.jsonl MP.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

LANDMARK_COUNT = 478
BLENDSHAPE_COUNT = 52
MOVES_STD = 0.01
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263

BLENDSHAPE_NAMES = [
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
]
assert len(BLENDSHAPE_NAMES) == BLENDSHAPE_COUNT


class InputError(Exception):
    pass


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """Returns (line number, object) for every non-blank line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from err
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{number}: not valid JSON ({err.msg})") from err
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{number}: expected a JSON object per line")
        rows.append((number, obj))
    return rows


def face_arrays(path: Path, number: int, obj: dict) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Validates one record; returns (pts_s, landmarks 478x2 or None, blendshapes 52 or None)."""
    where = f"{path}:{number}"
    pts = obj.get("pts_s")
    if not isinstance(pts, (int, float)) or not np.isfinite(pts):
        raise InputError(f"{where}: missing or non-numeric `pts_s`")
    landmarks = obj.get("landmarks_in_image", [])
    blendshapes = obj.get("blendshapes", [])
    if not landmarks and not blendshapes:
        return float(pts), None, None
    if len(landmarks) != LANDMARK_COUNT:
        raise InputError(f"{where}: `landmarks_in_image` has {len(landmarks)} points, expected {LANDMARK_COUNT} "
                         "(this comparison needs landmarks; was the file written without them?)")
    if len(blendshapes) != BLENDSHAPE_COUNT:
        raise InputError(f"{where}: `blendshapes` has {len(blendshapes)} values, expected {BLENDSHAPE_COUNT}")
    try:
        lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
        bs = np.asarray(blendshapes, dtype=np.float64)
    except (ValueError, IndexError, TypeError) as err:
        raise InputError(f"{where}: landmarks/blendshapes are not numbers: {err}") from err
    if not (np.isfinite(lm).all() and np.isfinite(bs).all()):
        raise InputError(f"{where}: landmarks or blendshapes contain non-finite numbers")
    return float(pts), lm, bs


def load_ours(path: Path):
    best: dict[float, tuple[float, np.ndarray, np.ndarray]] = {}
    multi = 0
    for number, obj in read_jsonl(path):
        pts, lm, bs = face_arrays(path, number, obj)
        if lm is None:
            continue
        presence = obj.get("presence", 1.0)
        presence = float(presence) if isinstance(presence, (int, float)) else 1.0
        if pts in best:
            multi += 1
            if presence <= best[pts][0]:
                continue
        best[pts] = (presence, lm, bs)
    pts_sorted = sorted(best)
    return (np.asarray(pts_sorted, dtype=np.float64),
            [best[p][1] for p in pts_sorted], [best[p][2] for p in pts_sorted], multi)


def load_mp(path: Path):
    frames = []
    for number, obj in read_jsonl(path):
        frames.append(face_arrays(path, number, obj))
    if not frames:
        raise InputError(f"{path}: no frames")
    frames.sort(key=lambda f: f[0])
    return frames


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    sa, sb = a.std(), b.std()
    if sa == 0.0 or sb == 0.0:
        return None
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


def match(mp_frames, ours_pts: np.ndarray, offset_s: float, tolerance_s: float):
    """Pairs each MediaPipe frame with our nearest record at pts + offset_s within tolerance_s.

    Returns (pairs [(mp index, ours index)] where both have a face, set of matched ours indices,
    MediaPipe frames with a face, MediaPipe face frames without a match)."""
    matched_ours: set[int] = set()
    pairs = []
    mp_face = mp_only = 0
    for i, (pts, lm, _bs) in enumerate(mp_frames):
        j = -1
        if ours_pts.size:
            target = pts + offset_s
            k = int(np.searchsorted(ours_pts, target))
            candidates = [c for c in (k - 1, k) if 0 <= c < ours_pts.size]
            c = min(candidates, key=lambda c: abs(ours_pts[c] - target))
            if abs(ours_pts[c] - target) <= tolerance_s:
                j = c
        if j >= 0:
            matched_ours.add(j)
        if lm is None:
            continue
        mp_face += 1
        if j >= 0:
            pairs.append((i, j))
        else:
            mp_only += 1
    return pairs, matched_ours, mp_face, mp_only


def mean_landmark_distance(mp_frames, ours_lm, pairs) -> float:
    return float(np.mean([np.linalg.norm(ours_lm[j] - mp_frames[i][1], axis=1).mean() for i, j in pairs]))


def check_frame_lag(mp_frames, ours_pts, ours_lm, frame_s: float, tolerance_s: float, pairs) -> None:
    """Warns when our frames line up better with MediaPipe's at a shift of whole frames, i.e. when the
    two decoders disagree on pts (e.g. an MP4 edit list or B-frame delay applied by one side only)."""
    if len(pairs) < 10:
        return
    at_zero = mean_landmark_distance(mp_frames, ours_lm, pairs)
    best_lag, best = 0, at_zero
    for lag in (-3, -2, -1, 1, 2, 3):
        lag_pairs = match(mp_frames, ours_pts, lag * frame_s, tolerance_s)[0]
        if len(lag_pairs) >= 0.8 * len(pairs):
            d = mean_landmark_distance(mp_frames, ours_lm, lag_pairs)
            if d < best:
                best_lag, best = lag, d
    if best_lag and best < 0.8 * at_zero:
        print(f"warning: our record at pts t agrees best with MediaPipe's frame at t {'+' if best_lag < 0 else '-'} "
              f"{abs(best_lag)} frame(s) "
              f"(mean landmark distance {best:.2f} px vs {at_zero:.2f} px as matched); the two decoders "
              "probably disagree on pts (edit list / B-frame delay): fix the pts before trusting the table",
              file=sys.stderr)


def compare(ours_path: Path, mp_path: Path) -> int:
    ours_pts, ours_lm, ours_bs, ours_multi = load_ours(ours_path)
    mp_frames = load_mp(mp_path)
    mp_pts = np.asarray([f[0] for f in mp_frames])
    steps = np.diff(mp_pts)
    steps = steps[steps > 0]
    frame_s = float(np.median(steps)) if steps.size else 1.0 / 30.0
    tolerance_s = frame_s / 2.0

    pairs, matched_ours, mp_face, mp_only = match(mp_frames, ours_pts, 0.0, tolerance_s)
    ours_only = sum(1 for j in range(ours_pts.size) if j not in matched_ours)
    ours_unmatched_to_mp_face = ours_pts.size - len(pairs)

    print(f"frames: mediapipe {len(mp_frames)} decoded, {mp_face} with a face | "
          f"ours {ours_pts.size} with a face"
          + (f" ({ours_multi} extra faces ignored)" if ours_multi else ""))
    print(f"matched by pts (within {tolerance_s * 1000:.1f} ms): {len(pairs)} frames with a face in both | "
          f"face only in mediapipe: {mp_only} | face only in ours: {ours_unmatched_to_mp_face}"
          + (f" ({ours_only} at pts with no mediapipe frame)" if ours_only else ""))
    if ours_pts.size and mp_pts.size:
        print(f"pts range: ours {ours_pts[0]:.3f}-{ours_pts[-1]:.3f} s, "
              f"mediapipe {mp_pts[0]:.3f}-{mp_pts[-1]:.3f} s")
    if not pairs:
        print("no frame has a face in both runs: nothing to compare", file=sys.stderr)
        if ours_pts.size and mp_face:
            print("hint: the pts do not line up; check that both decoded the same clip from its start",
                  file=sys.stderr)
        return 1
    if len(pairs) < 0.5 * min(mp_face, ours_pts.size):
        print("warning: fewer than half of the face frames matched; are the pts on the same clock?",
              file=sys.stderr)

    check_frame_lag(mp_frames, ours_pts, ours_lm, frame_s, tolerance_s, pairs)

    lm_mp = np.stack([mp_frames[i][1] for i, _ in pairs])       # N x 478 x 2
    lm_ours = np.stack([ours_lm[j] for _, j in pairs])
    dist = np.linalg.norm(lm_ours - lm_mp, axis=2)               # N x 478
    iod = np.linalg.norm(lm_mp[:, RIGHT_EYE_OUTER] - lm_mp[:, LEFT_EYE_OUTER], axis=1)
    per_frame = dist.mean(axis=1)
    print()
    print(f"landmark distance (x, y; {dist.size} points in {len(pairs)} frames): "
          f"mean {dist.mean():.2f} px, median {np.median(dist):.2f} px, p95 {np.percentile(dist, 95):.2f} px, "
          f"max {dist.max():.1f} px")
    print(f"  relative to the inter-ocular distance (median {np.median(iod):.1f} px): "
          f"mean {np.mean(per_frame / iod) * 100:.2f} % | worst frame mean {per_frame.max():.2f} px "
          f"at pts {mp_frames[pairs[int(per_frame.argmax())][0]][0]:.3f} s")

    bs_mp = np.stack([mp_frames[i][2] for i, _ in pairs])       # N x 52
    bs_ours = np.stack([ours_bs[j] for _, j in pairs])
    print()
    print(f"blendshapes over {len(pairs)} matched frames (Pearson r when std > {MOVES_STD} in either run)")
    print(f"{'blendshape':<22}{'r':>14}{'mean|diff|':>12}{'std ours':>10}{'std mp':>9}{'mean ours':>11}{'mean mp':>9}")
    moving_r = []
    for k, name in enumerate(BLENDSHAPE_NAMES):
        a, b = bs_ours[:, k], bs_mp[:, k]
        sa, sb = a.std(), b.std()
        if max(sa, sb) <= MOVES_STD:
            r_text = "does not move"
        else:
            r = pearson(a, b)
            if r is None:
                r_text = "n/a, " + ("ours" if sa == 0.0 else "mp") + " const"
            else:
                moving_r.append(r)
                r_text = f"{r:.3f}"
        print(f"{name:<22}{r_text:>14}{np.abs(a - b).mean():>12.4f}{sa:>10.4f}{sb:>9.4f}"
              f"{a.mean():>11.4f}{b.mean():>9.4f}")
    print()
    if moving_r:
        r_arr = np.asarray(moving_r)
        print(f"blendshapes that move: {r_arr.size}/{BLENDSHAPE_COUNT}; r median {np.median(r_arr):.3f}, "
              f"min {r_arr.min():.3f}, mean {r_arr.mean():.3f}; "
              f"mean |diff| over all 52: {np.abs(bs_ours - bs_mp).mean():.4f}")
    else:
        print("no blendshape moves in this clip (std <= 0.01 in both runs)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ours", type=Path, help="microcue signals JSONL")
    parser.add_argument("mp", type=Path, help="mediapipe_run.py output JSONL")
    args = parser.parse_args()
    try:
        return compare(args.ours, args.mp)
    except InputError as err:
        print(f"compare.py: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
