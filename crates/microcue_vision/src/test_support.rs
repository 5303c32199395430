//! Test helpers shared by the crate's unit tests (compiled only for tests).

use microcue_core::LANDMARK_COUNT;

use crate::Frame;

// One definition of the fixture paths for the unit tests and the integration tests.
#[path = "../tests/support/mod.rs"]
mod fixtures;
pub(crate) use fixtures::fixture;

/// Fails the test, saying what to install, when the `ffmpeg`/`ffprobe` CLIs are not on PATH.
pub(crate) fn require_ffmpeg() {
    assert!(
        crate::source::ffmpeg_available() && crate::source::ffprobe_available(),
        "this test needs the ffmpeg and ffprobe CLIs: install ffmpeg (apt-get install ffmpeg), \
         or run scripts/ci-deps.sh"
    );
}

/// astronaut.png and its reference landmarks (from MediaPipe's TFLite pipeline).
pub(crate) fn astronaut() -> (Frame, Vec<[f32; 3]>) {
    let image_path = fixture("reference/astronaut.png");
    let json_path = fixture("reference/ref.json");
    let image = image::open(&image_path)
        .expect("astronaut.png decodes")
        .to_rgb8();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("ref.json reads"))
            .expect("ref.json parses");
    let landmarks: Vec<[f32; 3]> = json["landmarks"]
        .as_array()
        .expect("landmarks array")
        .iter()
        .map(|p| {
            let v: Vec<f32> = p
                .as_array()
                .expect("point")
                .iter()
                .map(|c| c.as_f64().expect("number") as f32)
                .collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    assert_eq!(landmarks.len(), LANDMARK_COUNT);
    let frame = Frame {
        pts_s: 0.0,
        index: 0,
        width: image.width(),
        height: image.height(),
        rgb: image.into_raw(),
    };
    (frame, landmarks)
}
