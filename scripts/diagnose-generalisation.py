#!/usr/bin/env python3
"""Where planted movements are lost, and in what context natural events fire (docs/evaluation.md,
"Where the movements are lost").

Reads the saved runs of scripts/eval-generalisation.sh (no video, no spotter run):

  scripts/diagnose-generalisation.py frontend [OUT_DIR]   per planted movement: how far the
      face mesh and the region motion moved (injected minus clean signals of the same frames),
      in natural units, and whether an event matched it (IoU >= 0.5), overlapped it, or none
  scripts/diagnose-generalisation.py natural [TREE [SIGNALS_DIR]]   natural (clean-run) micro
      events by context: mouth moving, blink, head turn, none of these
  scripts/diagnose-generalisation.py summary TREE   matched / overlapped / planted per side and
      style, false positives, natural micro events per minute (for a RESCORE tree)

OUT_DIR / TREE default to bench-out/generalisation. Python 3 standard library only.
"""
import csv
import glob
import json
import math
import os
import statistics as st
import sys
from collections import Counter, defaultdict

REGIONS = 13
# Blendshape indices (MediaPipe order).
JAW_OPEN, BLINK_LEFT, BLINK_RIGHT = 25, 9, 10
# Context thresholds of `natural`: jawOpen's spread over the event +- 0.5 s, eyelid closure over
# the clip's median, head yaw + pitch range over the event +- 0.1 s (the pulse detector's gate).
MOUTH_MOVING_JAW_SD, BLINK_CLOSURE, HEAD_TURN_DEG = 0.03, 0.25, 4.0


def frames(path):
    out = {}
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            out[round(d["pts_s"], 4)] = d
    return out


def iod(d):
    a, b = d["landmarks_in_image"][33], d["landmarks_in_image"][263]
    return math.hypot(a[0] - b[0], a[1] - b[1])


def natural_motion(clean):
    """Root mean square of each region's motion over the clean run: the natural level."""
    total, n = [0.0] * REGIONS, 0
    for d in clean.values():
        motion = d.get("region_motion")
        if motion:
            n += 1
            for i, (x, y) in enumerate(motion["values"][:REGIONS]):
                total[i] += x * x + y * y
    return [math.sqrt(v / max(n, 1)) or 1e-6 for v in total]


def events(path):
    """The event records of an events file (hypothesis records, which follow some, are not events)."""
    with open(path) as f:
        return [r for r in map(json.loads, f) if "onset_s" in r and r.get("kind", "event") == "event"]


def overlaps(event, onset, offset):
    return event["onset_s"] < offset and onset < event["offset_s"]


def frontend(out):
    cache, rows = {}, []
    for sig in sorted(glob.glob(f"{out}/runs/*/*/*/injected.signals.jsonl")):
        run = os.path.dirname(sig)
        enc = os.path.basename(run)
        style = os.path.basename(os.path.dirname(run)).split("-")[0]
        clip = os.path.basename(os.path.dirname(os.path.dirname(run)))
        side = open(os.path.join(os.path.dirname(run), "row.csv")).read().split(",")[0]
        if (clip, enc) not in cache:
            clean = frames(f"{out}/clean/{clip}/{enc}/clean.signals.jsonl")
            cache[(clip, enc)] = (clean, natural_motion(clean))
        clean, level = cache[(clip, enc)]
        injected = frames(sig)
        found = events(f"{run}/injected.jsonl")
        matched = {m["truth"] for m in json.load(open(f"{run}/report.json"))["matches"]}
        for index, t in enumerate(csv.DictReader(open(f"{run}/truth.csv"))):
            onset, offset = float(t["onset_s"]), float(t["offset_s"])
            mesh = motion = 0.0
            for pts, d in injected.items():
                c = clean.get(pts)
                if c is None or not onset - 0.05 <= pts <= offset + 0.15:
                    continue
                li, lc = d["landmarks_in_image"], c["landmarks_in_image"]
                moved = max(math.hypot(li[k][0] - lc[k][0], li[k][1] - lc[k][1]) for k in range(468))
                mesh = max(mesh, moved / iod(c))
                if d.get("region_motion") and c.get("region_motion"):
                    for i in range(REGIONS):
                        (x1, y1), (x0, y0) = d["region_motion"]["values"][i], c["region_motion"]["values"][i]
                        motion = max(motion, math.hypot(x1 - x0, y1 - y0) / level[i])
            if index in matched:
                outcome = "matched"
            elif any(overlaps(e, onset, offset) for e in found):
                outcome = "overlapped"
            else:
                outcome = "none"
            rows.append((side, style, enc, mesh / float(t["amplitude_iod"]), motion, outcome))
    print("side | style | encoding | planted | mesh moved / planted (median) | region motion / natural (median) | share < 2 | matched | overlapped | none")
    for key in sorted({r[:3] for r in rows}):
        group = [r for r in rows if r[:3] == key]
        counts = Counter(r[5] for r in group)
        print(" | ".join(map(str, key)), "|", len(group), "|", round(st.median(r[3] for r in group), 2), "|",
              round(st.median(r[4] for r in group), 2), "|", round(sum(r[4] < 2 for r in group) / len(group), 2), "|",
              counts["matched"], "|", counts["overlapped"], "|", counts["none"])
    print()
    print("style | region motion / natural | matched | overlapped | none   (all encodings)")
    bins = [("< 1", 0, 1), ("1-2", 1, 2), ("2-4", 2, 4), (">= 4", 4, math.inf)]
    for style in ("warp", "au"):
        for name, low, high in bins:
            counts = Counter(r[5] for r in rows if r[1] == style and low <= r[4] < high)
            print(style, "|", name, "|", counts["matched"], "|", counts["overlapped"], "|", counts["none"])


def natural(tree, signals):
    kinds, cues = Counter(), defaultdict(Counter)
    for path in sorted(glob.glob(f"{tree}/clean/*/*/clean.jsonl")):
        enc, clip = path.split("/")[-2], path.split("/")[-3]
        fr = sorted(frames(f"{signals}/clean/{clip}/{enc}/clean.signals.jsonl").values(), key=lambda d: d["pts_s"])
        blink = [0.5 * (d["blendshapes"][BLINK_LEFT] + d["blendshapes"][BLINK_RIGHT]) for d in fr]
        blink_median = st.median(blink)
        for e in events(path):
            if e["scale"] != "micro":
                continue
            near = [i for i, d in enumerate(fr) if e["onset_s"] - 0.5 <= d["pts_s"] <= e["offset_s"] + 0.5]
            during = [i for i in near if e["onset_s"] - 0.1 <= fr[i]["pts_s"] <= e["offset_s"] + 0.1] or near
            if not near:
                continue
            mouth = st.pstdev(fr[i]["blendshapes"][JAW_OPEN] for i in near) > MOUTH_MOVING_JAW_SD
            blinked = max(blink[i] for i in near) - blink_median > BLINK_CLOSURE
            turn = sum(max(fr[i]["head_pose"][k] for i in during) - min(fr[i]["head_pose"][k] for i in during)
                       for k in ("yaw_deg", "pitch_deg"))
            kind = "mouth moving" if mouth else "blink" if blinked else "head turn" if turn > HEAD_TURN_DEG else "none of these"
            kinds[kind] += 1
            cues[kind][e["cue"]] += 1
    print("natural micro events:", sum(kinds.values()))
    for kind, n in kinds.most_common():
        print(f"{kind} | {n} | " + ", ".join(f"{c} {k}" for c, k in ((n2, c2) for c2, n2 in cues[kind].most_common())))


def summary(tree):
    agg = defaultdict(lambda: [0, 0, 0, 0])
    for path in glob.glob(f"{tree}/runs/*/*/*/report.json"):
        run = os.path.dirname(path)
        style = os.path.basename(os.path.dirname(run)).split("-")[0]
        side = open(os.path.join(os.path.dirname(run), "row.csv")).read().split(",")[0]
        report = json.load(open(path))
        found = events(f"{run}/injected.jsonl")
        truths = list(csv.DictReader(open(f"{run}/truth.csv")))
        hit = sum(any(overlaps(e, float(t["onset_s"]), float(t["offset_s"])) for e in found) for t in truths)
        a = agg[(side, style)]
        a[0] += report["overall"]["truths"]
        a[1] += report["overall"]["matched"]
        a[2] += hit
        a[3] += report["overall"]["false_positives"]
    micro, seconds = 0, 0.0
    for path in glob.glob(f"{tree}/clean/*/*/clean.jsonl"):
        clip = path.split("/")[-3]
        seconds += float(open(f"{tree}/clean/{clip}/duration_s").read())
        micro += sum(e["scale"] == "micro" for e in events(path))
    cells = []
    for key in (("tuning", "warp"), ("tuning", "au"), ("heldout", "warp"), ("heldout", "au")):
        t, m, o, fp = agg[key]
        cells.append(f"{key[0]} {key[1]}: matched {m} / overlapped {o} / planted {t}, fp {fp}")
    print(os.path.basename(tree), "|", " | ".join(cells), f"| natural micro/min {60 * micro / max(seconds, 1e-9):.1f}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    default = "bench-out/generalisation"
    if command == "frontend":
        frontend(sys.argv[2] if len(sys.argv) > 2 else default)
    elif command == "natural":
        tree = sys.argv[2] if len(sys.argv) > 2 else default
        natural(tree, sys.argv[3] if len(sys.argv) > 3 else default)
    elif command == "summary" and len(sys.argv) > 2:
        summary(sys.argv[2])
    else:
        sys.exit("usage: diagnose-generalisation.py frontend [OUT_DIR] | natural [TREE [SIGNALS_DIR]] | summary TREE")
