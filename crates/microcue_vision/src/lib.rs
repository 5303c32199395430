//! # microcue_vision
//!
//! Pixels to [`microcue_core::FaceSignals`]: frame sources (MP4/MOV H.264, image folders, Y4M,
//! ffmpeg pipe), MediaPipe's face detector, 478-point mesh and blendshape models running in
//! `tract-onnx`, a face tracker with head pose, and region motion signals.

pub mod frame;

pub use frame::Frame;
