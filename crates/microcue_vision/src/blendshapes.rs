//! The 52 blendshape scores (MediaPipe Face Landmarker v2).
//!
//! Input: the (x, y) image-pixel coordinates of 146 of the 478 landmarks
//! ([`BLENDSHAPE_LANDMARKS`], MediaPipe's selection); the model normalises them itself, so the
//! image size does not matter. Output: 52 scores in [0, 1] in the order of
//! [`microcue_core::BLENDSHAPE_NAMES`] (index 0 `_neutral`). `...Left` is the subject's left.

use microcue_core::{BLENDSHAPE_COUNT, LANDMARK_COUNT};

use crate::error::VisionError;
use crate::models::{FaceModels, ModelRunner};

/// The landmarks the blendshape model reads, in its input order.
pub const BLENDSHAPE_LANDMARKS: [usize; 146] = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
];

/// The blendshape model with its input tensor: create once, call [`BlendshapeModel::run`] per
/// face per frame.
#[derive(Debug)]
pub struct BlendshapeModel {
    runner: ModelRunner,
}

impl BlendshapeModel {
    /// A runner for the loaded blendshape model.
    pub fn new(models: &FaceModels) -> Result<Self, VisionError> {
        Ok(BlendshapeModel {
            runner: ModelRunner::new(&models.blendshapes)?,
        })
    }

    /// The model runner (raw tensors in and out), e.g. for checks against reference outputs.
    pub fn runner_mut(&mut self) -> &mut ModelRunner {
        &mut self.runner
    }

    /// Scores the face whose 478 landmarks (image pixels) are given; clears `scores` and writes
    /// the 52 scores in MediaPipe order.
    pub fn run(
        &mut self,
        landmarks_in_image: &[[f32; 3]],
        scores: &mut Vec<f32>,
    ) -> Result<(), VisionError> {
        if landmarks_in_image.len() != LANDMARK_COUNT {
            return Err(VisionError::InputLength {
                model: self.runner.spec().name,
                expected: LANDMARK_COUNT,
                actual: landmarks_in_image.len(),
            });
        }
        self.runner.fill_input(|input| {
            for (pair, &index) in input.chunks_exact_mut(2).zip(BLENDSHAPE_LANDMARKS.iter()) {
                pair[0] = landmarks_in_image[index][0];
                pair[1] = landmarks_in_image[index][1];
            }
        })?;
        self.runner.run()?;
        let output = self.runner.output_checked(0, BLENDSHAPE_COUNT)?;
        scores.clear();
        scores.extend_from_slice(output);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_is_sorted_unique_and_in_range() {
        assert!(BLENDSHAPE_LANDMARKS.windows(2).all(|w| w[0] < w[1]));
        assert!(BLENDSHAPE_LANDMARKS.iter().all(|&i| i < LANDMARK_COUNT));
    }
}
