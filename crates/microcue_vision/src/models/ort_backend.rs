//! The optional ONNX Runtime backend (cargo feature `ort`), for speed.
//!
//! The same embedded ONNX files run in ONNX Runtime through the `ort` crate. The runtime is not
//! linked: `libonnxruntime.so` is loaded when the backend is first chosen, from a path the
//! caller gives (the `onnxruntime` PyPI wheel ships it; `benches/ort/setup.sh` installs it).
//! Nothing is downloaded, at build time or at run time.
//!
//! Sessions run on one thread (`intra_op` and `inter_op` pools of 1), like tract here, with all
//! graph optimisations. Each [`OrtRunner`] has its own session (ONNX Runtime's `Run` needs
//! exclusive access), its input tensor and output buffers, reused from call to call.

use std::path::Path;
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

use crate::error::VisionError;
use crate::models::ModelSpec;

/// The process's ONNX Runtime environment (one per process), or why it could not be made.
static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Loads `libonnxruntime` from `library_path` and creates the environment, once per process
/// (later calls return the first outcome, whatever path they give).
pub(crate) fn environment(library_path: &Path) -> Result<&'static Environment, VisionError> {
    let outcome = ENVIRONMENT.get_or_init(|| {
        if !library_path.is_file() {
            return Err(format!(
                "`{}` does not exist; hint: run `benches/ort/setup.sh` (installs the \
                 onnxruntime wheel from PyPI) and pass the library it prints",
                library_path.display()
            ));
        }
        let builder = ort::init_from(library_path).map_err(|e| {
            format!(
                "cannot load ONNX Runtime from `{}`: {e}",
                library_path.display()
            )
        })?;
        builder.with_name("microcue").build().map_err(|e| {
            format!(
                "cannot start ONNX Runtime from `{}`: {e}",
                library_path.display()
            )
        })
    });
    outcome
        .as_ref()
        .map_err(|message| VisionError::model_load("onnxruntime", message.clone()))
}

/// One model's ONNX Runtime session with its input and output buffers.
pub(crate) struct OrtRunner {
    session: Session,
    input: Tensor<f32>,
    /// Output values of the last run, in `ModelSpec::output_names` order.
    outputs: Vec<Vec<f32>>,
}

impl OrtRunner {
    /// A single-threaded session for `spec` (the environment must exist: [`environment`]).
    pub(crate) fn new(spec: &ModelSpec) -> Result<Self, VisionError> {
        let Some(Ok(env)) = ENVIRONMENT.get() else {
            return Err(VisionError::model_load(
                spec.name,
                "ONNX Runtime is not loaded (FaceModels::load_with(Backend::Ort ..) loads it)",
            ));
        };
        let err = |e: ort::Error| VisionError::model_load(spec.name, e.to_string());
        let session = Session::builder(env)
            .map_err(err)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| VisionError::model_load(spec.name, e.to_string()))?
            .with_intra_threads(1)
            .map_err(|e| VisionError::model_load(spec.name, e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| VisionError::model_load(spec.name, e.to_string()))?
            .commit_from_memory(spec.onnx)
            .map_err(err)?;
        let shape: Vec<i64> = spec.input_shape.iter().map(|&d| d as i64).collect();
        let values = vec![0.0f32; spec.input_shape.iter().product()];
        let input = Tensor::from_array((shape, values)).map_err(err)?;
        Ok(OrtRunner {
            session,
            input,
            outputs: vec![Vec::new(); spec.output_names.len()],
        })
    }

    /// The input tensor's values (the ONNX model's own layout, NHWC for images).
    pub(crate) fn input_mut(&mut self) -> Result<&mut [f32], VisionError> {
        let (_, values) = self
            .input
            .try_extract_tensor_mut::<f32>()
            .map_err(|e| VisionError::inference("onnxruntime", e.to_string()))?;
        Ok(values)
    }

    /// Runs the session on the input tensor and copies the wanted outputs.
    pub(crate) fn run(&mut self, spec: &ModelSpec) -> Result<(), VisionError> {
        let err = |e: ort::Error| VisionError::inference(spec.name, e.to_string());
        let outputs = self.session.run(ort::inputs![&self.input]).map_err(err)?;
        for (buffer, name) in self.outputs.iter_mut().zip(spec.output_names) {
            let value = outputs.get(name).ok_or_else(|| VisionError::ModelOutput {
                model: spec.name,
                detail: format!("no output `{name}` from ONNX Runtime"),
            })?;
            let (_, values) = value.try_extract_tensor::<f32>().map_err(err)?;
            buffer.clear();
            buffer.extend_from_slice(values);
        }
        Ok(())
    }

    /// Output `index` of the last run.
    pub(crate) fn output(&self, index: usize) -> Option<&[f32]> {
        self.outputs.get(index).map(Vec::as_slice)
    }
}
