//! Test helpers shared by the crate's unit tests (compiled only for tests).

use microcue_core::LANDMARK_COUNT;

use crate::Frame;

/// Path of a file under /work/shared, or `None` (with the reason printed) when absent.
pub(crate) fn shared_file(relative: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping: {} is absent (the shared data folder is not mounted)",
            path.display()
        );
        None
    }
}

/// astronaut.png and its reference landmarks (from MediaPipe's TFLite pipeline).
pub(crate) fn astronaut() -> Option<(Frame, Vec<[f32; 3]>)> {
    let image_path = shared_file("models/reference/astronaut.png")?;
    let json_path = shared_file("models/reference/ref.json")?;
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
    Some((frame, landmarks))
}
