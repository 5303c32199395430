#!/usr/bin/env bash
# Regenerates the fuzz seeds in fuzz/seeds/TARGET/ from real files: the clip bundled in the
# repository (assets/single_face.mp4) cut, scaled and re-encoded by ffmpeg; the per-frame
# signals and events `microcue analyze` writes for it; an OpenFace CSV derived from those
# signals plus the examples of docs/formats.md; the spotter settings; a journal made with the
# CLI and exported by it; truth CSVs of the clip's events. fuzz/run.sh fuzzes from them and minimises into fuzz/corpus/.
#
# Needs ffmpeg and ffprobe (`apt-get install ffmpeg`) and python3; builds microcue (dev).
# MICROCUE=path/to/microcue uses a binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/fuzz/seeds
clip=$root/assets/single_face.mp4
for tool in ffmpeg ffprobe python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing; hint: apt-get install ffmpeg python3" >&2; exit 1; }
done
if [[ -z "${MICROCUE:-}" ]]; then
    cargo build -q -p microcue
    MICROCUE=$root/target/debug/microcue
fi
cargo build -q -p microcue_fuzz --example seeds
seeds=$root/target/debug/examples/seeds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"/{mp4,y4m,ffmpeg_pipe,image_frame,signals_jsonl,openface_csv,spotter_config,journal_import,truth_csv,face_stream}
ff() { ffmpeg -nostdin -v error -y "$@"; }
# Five frames from 0.8 s (the smile begins), at 64x36: small seeds decode fast.
cut=(-ss 0.8 -i "$clip" -frames:v 5 -vf scale=64:36)

# --- mp4: H.264 in the container variants microcue reads -------------------------------------
ff "${cut[@]}" -an -c:v libx264 -profile:v high -bf 2 -g 5 -crf 30 "$out/mp4/high_bframes.mp4"
ff "${cut[@]}" -an -c:v libx264 -profile:v baseline -crf 30 -f mov "$out/mp4/baseline.mov"
ff "${cut[@]}" -an -c:v libx264 -x264-params slices=4:cabac=0 -crf 30 "$out/mp4/cavlc_slices.mp4"
ff "${cut[@]}" -an -c:v libx264 -crf 30 -movflags frag_keyframe+empty_moov+default_base_moof \
    "$out/mp4/fragmented.mp4"
ff "${cut[@]}" -c:v libx264 -crf 30 -c:a aac -b:a 8k -ac 1 -ar 8000 -movflags +faststart \
    "$out/mp4/aac_faststart.mp4"
ff "${cut[@]}" -c:v libx264 -crf 30 -c:a pcm_s16le -ac 1 -ar 8000 -f mov "$out/mp4/pcm_audio.mov"
ff -i "$out/mp4/baseline.mov" -c copy -metadata:s:v:0 rotate=90 "$out/mp4/rotated.mp4"
# A cut inside a group of pictures: an edit list hides the frames before the cut.
ff -ss 0.05 -i "$out/mp4/high_bframes.mp4" -c copy "$out/mp4/edit_list.mp4"
# Decoded through ffmpeg only: the error paths for other codecs and H.264 profiles.
ff "${cut[@]}" -an -c:v libx264 -pix_fmt yuv444p -crf 30 "$out/mp4/high444.mp4"
ff "${cut[@]}" -an -c:v libx265 -x265-params log-level=none -crf 35 "$out/mp4/hevc.mp4"

# --- y4m: the pixel formats the Y4M reader accepts, two frames of 18x10 ----------------------
for format in yuv420p yuv422p yuv444p yuva444p gray yuvj420p yuv420p10le yuv444p12le gray16le; do
    ff -ss 0.8 -i "$clip" -frames:v 2 -vf scale=18:10 -pix_fmt "$format" -f yuv4mpegpipe \
        -strict -1 "$out/y4m/$format.y4m"
done

# --- ffmpeg_pipe: what ffmpeg and ffprobe print for a clip microcue hands to ffmpeg ----------
for clip_seed in hevc.mp4 high_bframes.mp4 edit_list.mp4; do
    input=$out/mp4/$clip_seed
    name=${clip_seed%.*}
    ff -i "$input" -map 0:v:0 -fps_mode passthrough -f yuv4mpegpipe -pix_fmt yuv420p "$work/$name.y4m"
    ffprobe -v error -select_streams v:0 -show_entries \
        stream=codec_name,nb_frames,avg_frame_rate:format=duration \
        -of default=noprint_wrappers=1 "$input" >"$work/$name.probe"
    ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$input" \
        >"$work/$name.pts"
    "$seeds" pipe 128 0 "$work/$name.probe" "$work/$name.pts" "$work/$name.y4m" \
        "$out/ffmpeg_pipe/$name.bin"
    "$seeds" pipe 7 1 "$work/$name.probe" "$work/$name.pts" "$work/$name.y4m" \
        "$out/ffmpeg_pipe/${name}_small_reads.bin"
done
: >"$work/empty"
"$seeds" pipe 64 0 "$work/empty" "$work/empty" "$work/high_bframes.y4m" \
    "$out/ffmpeg_pipe/no_ffprobe.bin"

# --- image_frame: one frame in each pixel format of each image format ------------------------
frame=(-ss 0.8 -i "$clip" -frames:v 1 -vf scale=24:14)
for format in rgb24 rgba gray ya8 gray16be rgb48be rgba64be; do
    ff "${frame[@]}" -pix_fmt "$format" "$out/image_frame/$format.png"
done
ff "${frame[@]}" -pix_fmt yuvj420p "$out/image_frame/color.jpg"
ff "${frame[@]}" -pix_fmt gray "$out/image_frame/gray.jpg"
for format in bgr24 bgra gray rgb565le pal8; do
    ff "${frame[@]}" -pix_fmt "$format" "$out/image_frame/$format.bmp"
done

# --- signals_jsonl and openface_csv: microcue's own analysis of the clip ----------------------
"$MICROCUE" analyze "$clip" --consent self --quiet --signals-out "$work/signals.jsonl" \
    >"$work/events.jsonl" 2>"$work/analyze.log"
python3 - "$work/signals.jsonl" "$out" <<'PY'
import json, sys
signals_path, out = sys.argv[1], sys.argv[2]
lines = [json.loads(line) for line in open(signals_path) if line.strip()]

def rounded(value, digits):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    return value

def write(name, frames):
    with open(f"{out}/signals_jsonl/{name}", "w") as f:
        for frame in frames:
            f.write(json.dumps(frame, separators=(",", ":")) + "\n")

# Three frames as written (478 landmarks each); the whole clip without landmarks, so that the
# spotter warms up and sees the smile; the first format of region motion (10 regions).
write("with_landmarks.jsonl", lines[:3])
light = [rounded({k: v for k, v in frame.items() if k != "landmarks_in_image"}, 4) for frame in lines]
write("clip_without_landmarks.jsonl", light)
v1 = [dict(frame) for frame in light[:4]]
for frame in v1:
    if frame.get("region_motion"):
        frame["region_motion"] = {"values": frame["region_motion"]["values"][:10]}
write("region_motion_v1.jsonl", v1)

# OpenFace shape: the blendshapes behind each AU read back as intensities (0-5).
aus = {"AU01_r": [3], "AU02_r": [4, 5], "AU04_r": [1, 2], "AU05_r": [21, 22], "AU06_r": [7, 8],
       "AU07_r": [19, 20], "AU09_r": [50, 51], "AU10_r": [48, 49], "AU12_r": [44, 45],
       "AU14_r": [28, 29], "AU15_r": [30, 31], "AU17_r": [42], "AU20_r": [46, 47],
       "AU23_r": [36, 37], "AU25_r": [25], "AU26_r": [25], "AU45_r": [9, 10]}
header = ["frame", "face_id", "timestamp", "confidence", "success", "gaze_angle_x",
          "gaze_angle_y", "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"] + list(aus)
with open(f"{out}/openface_csv/from_clip.csv", "w") as f:
    f.write(", ".join(header) + "\n")
    for n, frame in enumerate(light, start=1):
        b, pose = frame["blendshapes"], frame.get("head_pose", {})
        gaze_x = (b[15] - b[13]) * 0.5
        gaze_y = (b[11] - b[17]) * 0.5
        row = [n, frame["track"], f"{frame['pts_s']:.3f}", f"{frame['presence']:.2f}", 1,
               f"{gaze_x:.3f}", f"{gaze_y:.3f}", "10.0", "20.0", "400.0",
               f"{-pose.get('pitch_deg', 0) / 57.3:.3f}", f"{-pose.get('yaw_deg', 0) / 57.3:.3f}",
               f"{pose.get('roll_deg', 0) / 57.3:.3f}"]
        row += [f"{5 * max(b[i] for i in idx):.2f}" for idx in aus.values()]
        f.write(", ".join(str(v) for v in row) + "\n")
PY

# The example of docs/formats.md, and two faces with a failed frame (the unit tests' shapes).
cat >"$out/openface_csv/docs_example.csv" <<'CSV'
frame, face_id, timestamp, confidence, success, gaze_angle_x, gaze_angle_y, pose_Rx, pose_Ry, pose_Rz, AU01_r, AU02_r, AU04_r, AU05_r, AU06_r, AU07_r, AU09_r, AU10_r, AU12_r, AU14_r, AU15_r, AU17_r, AU20_r, AU23_r, AU25_r, AU26_r, AU45_r
1, 0, 0.000, 0.98, 1, 0.021, 0.105, 0.094, -0.031, 0.012, 0.00, 0.00, 0.35, 0.00, 0.00, 0.21, 0.00, 0.00, 0.00, 0.41, 0.00, 0.62, 0.00, 0.00, 0.00, 0.13, 0.00
2, 0, 0.033, 0.98, 1, 0.020, 0.104, 0.095, -0.030, 0.012, 0.00, 0.00, 0.33, 0.00, 2.10, 0.25, 0.00, 0.00, 2.85, 0.40, 0.00, 0.60, 0.00, 0.00, 0.00, 0.12, 0.00
CSV
cat >"$out/openface_csv/two_faces.csv" <<'CSV'
frame,face_id,timestamp,confidence,success,AU01_r,AU02_r,AU45_r,AU01_c
1,0,0.000,0.9,1,0.5,0.5,0.0,1
1,1,0.000,0.9,1,0.0,0.0,0.1,0
2,0,0.033,0.1,0,0.0,0.0,4.8,0
2,1,0.033,0.9,1,1.0,1.0,0.0,1
CSV

# --- spotter_config ----------------------------------------------------------------------------
"$seeds" spotter-config "$out/spotter_config"
echo '{}' >"$out/spotter_config/empty.json"
echo '{"expression": {"z_high": 4.5, "z_low": 2.5}, "max_gap_s": 1.0}' \
    >"$out/spotter_config/partial.json"
echo '{"unavailable_cues": ["unilateral_lip_corner", "pupil_dilation"], "pulse": {}}' \
    >"$out/spotter_config/unavailable_cues.json"

# --- journal_import: a journal filled through the CLI, exported by it ------------------------
export MICROCUE_HOME=$work/home MICROCUE_TODAY=2026-01-05
"$MICROCUE" plan done --start 2026-01-01 mirror_drill >/dev/null
"$MICROCUE" plan done slow_motion_study >/dev/null
"$MICROCUE" log add --cue eyebrow_flash --context "asked about the trip" --hypothesis positive \
    --response invite --outcome improved >/dev/null
"$MICROCUE" log add --cue lip_compression --context "mentioned the deadline" >/dev/null
"$MICROCUE" drill record --kind flash --cue micro_frown --answered micro_frown --exposure-ms 120 \
    --rt-ms 850 >/dev/null
"$MICROCUE" drill record --kind flash --cue none --answered none --exposure-ms 80 >/dev/null
journal=$("$MICROCUE" journal path)
"$seeds" journal-extras "$journal" "$work/signals.jsonl" "$work/events.jsonl"
"$MICROCUE" journal export --format json --out "$out/journal_import/cli_export.json" >/dev/null
python3 - "$out/journal_import/cli_export.json" "$out/journal_import" <<'PY'
import json, sys
export = json.load(open(sys.argv[1]))
# The same export with a plan start, and one from before reviews existed (schema 2).
export["plan_start"] = "2025-12-01"
json.dump(export, open(f"{sys.argv[2]}/with_plan_start.json", "w"), indent=1)
export.pop("reviewed_events", None)
export["schema_version"] = 2
json.dump(export, open(f"{sys.argv[2]}/schema2.json", "w"), indent=1)
PY

# --- truth_csv: the clip's events as reviewed truth and as injected truth, as microcue writes
# them; and a review note, whose columns lack side and apex (an error) ---------------------------
"$seeds" truth "$work/events.jsonl" "$out/truth_csv"
cat >"$out/truth_csv/review_note.csv" <<'CSV'
onset_s,offset_s,cue,verdict,seen
0.92,3.93,genuine_smile,real,"a laugh, with eye creases"
CSV
cat >"$out/truth_csv/blank_side_amplitude.csv" <<'CSV'
Cue, Side, Onset_S, Apex_S, Offset_S, amplitude_iod

eyebrow_flash,,0.5,0.6,0.9,
micro_frown,left,1.0,1.1,1.3,0.021
CSV

# --- face_stream: bytes `arbitrary` turns into a trace and its edits (fixed seeds) ---------------
python3 - "$out/face_stream" <<'PY'
import random, sys
for n, size in enumerate([8, 64, 256, 1024]):
    open(f"{sys.argv[1]}/random_{size}.bin", "wb").write(random.Random(n).randbytes(size))
PY

du -sh "$out"/* | sed "s|$root/||"
