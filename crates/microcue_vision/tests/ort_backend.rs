//! The optional ONNX Runtime backend (cargo feature `ort`) against the TFLite reference tensors
//! and against tract, on the same inputs.
//!
//! Needs `libonnxruntime.so`: `ORT_DYLIB_PATH`, else `benches/.ort/libonnxruntime.so*` (put there
//! by `benches/ort/setup.sh`, which `scripts/ci-deps.sh` runs). Without it each test fails,
//! saying how to install it. The reference tensors are the repository's `tests/data/reference`.
#![cfg(feature = "ort")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use microcue_core::{BLENDSHAPE_NAMES, FaceSignals};
use microcue_vision::blendshapes::BlendshapeModel;
use microcue_vision::detector::{DetectorOptions, DetectorRange, FaceDetector};
use microcue_vision::landmarks::LandmarkDetector;
use microcue_vision::models::Backend;
use microcue_vision::{FaceModels, FaceTracker, Frame, TrackerConfig};

fn library_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(path);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/.ort");
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("libonnxruntime.so"))
            })
    });
    found.unwrap_or_else(|| {
        panic!(
            "the `ort` feature's tests need ONNX Runtime's library, and there is none \
             (ORT_DYLIB_PATH unset, no libonnxruntime.so* in {}): run benches/ort/setup.sh \
             (scripts/ci-deps.sh does), or set ORT_DYLIB_PATH",
            dir.display()
        )
    })
}

/// The models on ONNX Runtime, loaded once.
fn ort_models() -> &'static FaceModels {
    static MODELS: OnceLock<FaceModels> = OnceLock::new();
    MODELS.get_or_init(
        || match FaceModels::load_with(&Backend::Ort(library_path())) {
            Ok(models) => models,
            Err(error) => panic!("the ort backend failed to load the models: {error}"),
        },
    )
}

/// MediaPipe's TFLite reference on astronaut.png: tensors and the photo.
fn reference_dir() -> PathBuf {
    support::fixture("reference")
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn ort_golden_detector_matches_tflite() {
    let (dir, models) = (reference_dir(), ort_models());
    let mut detector = FaceDetector::new(models, DetectorRange::Short, DetectorOptions::default())
        .expect("detector");
    let runner = detector.runner_mut();
    runner
        .run_with(&read_f32(&dir.join("det_in.f32")))
        .expect("run");
    let regressor_error = max_abs_difference(
        runner.output_checked(0, 896 * 16).expect("regressors"),
        &read_f32(&dir.join("det_reg.f32")),
    );
    let logit_error = max_abs_difference(
        runner.output_checked(1, 896).expect("logits"),
        &read_f32(&dir.join("det_cls.f32")),
    );
    eprintln!("ort detector: regressors {regressor_error:.2e}, logits {logit_error:.2e}");
    assert!(regressor_error < 1e-3 && logit_error < 1e-3);
}

#[test]
fn ort_golden_landmarks_match_tflite() {
    let (dir, models) = (reference_dir(), ort_models());
    let mut landmarks = LandmarkDetector::new(models).expect("landmarks");
    let runner = landmarks.runner_mut();
    runner
        .run_with(&read_f32(&dir.join("lm_in.f32")))
        .expect("run");
    let points_error = max_abs_difference(
        runner.output_checked(0, 1434).expect("points"),
        &read_f32(&dir.join("lm_out.f32")),
    );
    let flag_error = max_abs_difference(
        runner.output_checked(1, 1).expect("flag"),
        &read_f32(&dir.join("lm_flag.f32")),
    );
    eprintln!("ort landmarks: points {points_error:.2e} crop px, presence logit {flag_error:.2e}");
    assert!(points_error < 1e-3 && flag_error < 1e-3);
}

#[test]
fn ort_golden_blendshapes_match_tflite() {
    let (dir, models) = (reference_dir(), ort_models());
    let mut blendshapes = BlendshapeModel::new(models).expect("blendshapes");
    let runner = blendshapes.runner_mut();
    runner
        .run_with(&read_f32(&dir.join("bs_in.f32")))
        .expect("run");
    let error = max_abs_difference(
        runner
            .output_checked(0, BLENDSHAPE_NAMES.len())
            .expect("scores"),
        &read_f32(&dir.join("bs_out.f32")),
    );
    eprintln!("ort blendshapes: {error:.2e}");
    assert!(error < 1e-3);
}

/// The whole tracker on both backends, same photo: the crop is the same, so the results agree
/// to the models' own numerical differences.
#[test]
fn ort_tracker_agrees_with_tract_on_astronaut() {
    let (dir, ort) = (reference_dir(), ort_models());
    let image = image::open(dir.join("astronaut.png"))
        .expect("astronaut.png")
        .to_rgb8();
    let frame = Frame {
        pts_s: 0.0,
        index: 0,
        width: image.width(),
        height: image.height(),
        rgb: image.into_raw(),
    };
    let tract = FaceModels::load().expect("tract models");
    let run = |models: &FaceModels| -> Vec<FaceSignals> {
        let mut tracker = FaceTracker::new(models, TrackerConfig::default()).expect("tracker");
        let mut out = Vec::new();
        tracker.process(&frame, &mut out).expect("process");
        out
    };
    let (ours, theirs) = (run(&tract), run(ort));
    assert_eq!(
        (ours.len(), theirs.len()),
        (1, 1),
        "one face on each backend"
    );
    let landmark_error = ours[0]
        .landmarks_in_image
        .iter()
        .zip(&theirs[0].landmarks_in_image)
        .map(|(p, q)| (p[0] - q[0]).hypot(p[1] - q[1]))
        .fold(0.0, f32::max);
    let blendshape_error = max_abs_difference(&ours[0].blendshapes, &theirs[0].blendshapes);
    eprintln!(
        "astronaut, tract vs ort: landmarks {landmark_error:.2e} px, blendshapes {blendshape_error:.2e}"
    );
    assert!(landmark_error < 0.01 && blendshape_error < 1e-3);
}
