use tract_onnx::prelude::*;
#[test]
fn probe() {
    for f in ["face_detector","face_detection_full_range","face_landmarks_detector","face_blendshapes"] {
        let p = format!("{}/../../models/{f}.onnx", env!("CARGO_MANIFEST_DIR"));
        let m = onnx().model_for_path(&p).unwrap();
        for o in m.input_outlets().unwrap() { eprintln!("{f} in {} {:?}", m.node(o.node).name, m.outlet_fact(*o).unwrap()); }
        for o in m.output_outlets().unwrap() { eprintln!("{f} out {} {:?} {:?}", m.node(o.node).name, m.outlet_label(*o), m.outlet_fact(*o).unwrap()); }
    }
}
