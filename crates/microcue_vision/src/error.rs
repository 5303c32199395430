//! The crate's one error type, [`VisionError`].
//!
//! A frame without a face is not an error: the tracker returns an empty list. Errors are for
//! things the caller must act on (a model that does not load, a malformed frame buffer, an
//! unreadable file), and each message says what went wrong and what to do.

/// A boxed source error (tract reports `anyhow` errors, which are converted to this).
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `microcue_vision`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VisionError {
    /// An embedded ONNX model could not be parsed, typed or optimised.
    #[error(
        "could not load the embedded `{model}` face model: {source}\n\
         hint: the model is compiled into the binary; rebuild microcue from a clean checkout"
    )]
    ModelLoad {
        /// Which model (file stem, e.g. `face_landmarks_detector`).
        model: &'static str,
        #[source]
        source: BoxedError,
    },

    /// The inference backend asked for is not compiled into this build.
    #[error("the {backend} backend is not part of this build\nhint: {hint}")]
    BackendUnavailable {
        /// Which backend (e.g. `ONNX Runtime`).
        backend: &'static str,
        /// How to get a build that has it.
        hint: &'static str,
    },

    /// Running a model failed.
    #[error("the `{model}` face model failed on a frame: {source}")]
    Inference {
        /// Which model.
        model: &'static str,
        #[source]
        source: BoxedError,
    },

    /// A model returned outputs of an unexpected shape (a wrong or corrupted model file).
    #[error(
        "the `{model}` face model returned {detail}\n\
         hint: the embedded model does not match this version of microcue; rebuild from a clean checkout"
    )]
    ModelOutput {
        /// Which model.
        model: &'static str,
        /// What was expected and what came.
        detail: String,
    },

    /// A raw model input has the wrong number of values.
    #[error("the `{model}` face model needs {expected} input values, got {actual}")]
    InputLength {
        /// Which model.
        model: &'static str,
        /// Number of f32 values the model takes.
        expected: usize,
        /// Number given.
        actual: usize,
    },

    /// A frame's RGB buffer does not match its declared size.
    #[error(
        "frame {frame_index} is {width}x{height} but holds {rgb_len} bytes (expected {expected_len} = width * height * 3)\n\
         hint: the frame source produced a malformed frame; report it with the input file"
    )]
    FrameSize {
        /// Index of the frame in the source.
        frame_index: u64,
        width: u32,
        height: u32,
        /// `rgb.len()`.
        rgb_len: usize,
        /// `width * height * 3`.
        expected_len: usize,
    },

    /// The operating system refused a new thread.
    #[error(
        "could not start the `{name}` thread: {source}\n\
         hint: the system is short of memory or of threads; close other programs and retry"
    )]
    Thread {
        /// The thread's name.
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl VisionError {
    /// Wraps a tract error raised while loading `model`.
    pub(crate) fn model_load(model: &'static str, source: impl Into<BoxedError>) -> Self {
        VisionError::ModelLoad {
            model,
            source: source.into(),
        }
    }

    /// Wraps a tract error raised while running `model`.
    pub(crate) fn inference(model: &'static str, source: impl Into<BoxedError>) -> Self {
        VisionError::Inference {
            model,
            source: source.into(),
        }
    }
}
