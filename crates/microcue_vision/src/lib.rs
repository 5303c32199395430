//! # microcue_vision
//!
//! Pixels to [`microcue_core::FaceSignals`]: frame sources (MP4/MOV H.264, image folders, Y4M,
//! ffmpeg pipe), MediaPipe's face detector, 478-point mesh and blendshape models running in
//! `tract-onnx`, a face tracker with head pose, and region motion signals. [`Pipeline`] is the
//! one way every caller (files or a live camera) runs them.

pub mod frame;

pub use frame::Frame;
pub mod blendshapes;
pub mod crop;
pub mod detector;
pub mod error;
pub mod landmarks;
pub mod models;
pub mod pose;
pub mod tracker;
pub use error::VisionError;
pub use models::FaceModels;
pub use pipeline::Pipeline;
pub use tracker::{
    CropSmoothing, FaceTracker, LandmarkSmoothing, TrackerConfig, TrackerStats, TrackerTimings,
};
pub mod analysis;
pub mod flow;
pub mod inject;
pub mod inject_au;
pub mod pipeline;
pub mod recording;
pub mod source;
#[cfg(test)]
mod test_support;
pub mod warp;
