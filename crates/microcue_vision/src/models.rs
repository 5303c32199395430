//! The four MediaPipe face models, embedded in the binary and prepared once.
//!
//! The ONNX files in `models/` (converted from MediaPipe's TFLite files, weights unchanged; see
//! `models/PROVENANCE.md`) are compiled in with `include_bytes!`, so a fresh `cargo build` needs
//! no setup step. [`FaceModels::load`] parses each one with `tract-onnx`, fixes its input shape,
//! declutters and optimises it and turns it into a runnable plan. That costs a few hundred
//! milliseconds and happens once at start-up; the per-frame path only runs the plans through a
//! [`ModelRunner`], which keeps the tract state and the input tensor from call to call.
//!
//! Inference is single-threaded (tract's default executor), which suits a 2-core laptop that also
//! decodes video.
//!
//! Speed, release build, one thread, 2-core x86-64 with AVX2/FMA (tract-linalg picks its
//! `fma_mmm_f32_*` kernels at run time; no `target-cpu` flag), measured by the ignored tests
//! `model_timings` and `model_profile` in `tests/vision.rs` while other builds shared the machine
//! (the fastest of 100 calls; medians were up to 2x higher):
//!
//! | step | ms |
//! |---|---|
//! | load and optimise the four models (start-up, once) | 720 |
//! | short-range detector: letterbox 640x360 + model + decode + NMS | 3.0 |
//! | full-range detector, same | 13.8 |
//! | landmark model | 5.8 (`microcue bench` median, idle; was 12.6 with tract's stock plan) |
//! | 256x256 rotated crop | 1.2 (1.0 with the row fast path, `microcue bench` median) |
//! | blendshape model | 1.3 |
//! | tracker step per face (crop + landmarks + blendshapes + pose, no detector) | 8.0 (median over a clip; was 12.2) |
//!
//! What made the difference: fixed input shapes and optimisation at load time, outputs not used
//! pruned (`select_outputs_by_name`), state and input tensor kept across calls (the crop is
//! written straight into the model's input tensor), and four changes to the landmark model's
//! plan found by timing each node (see `docs/benchmarks.md`): one-pass per-channel `PRelu`
//! ([`ChannelPrelu`], via [`onnx_with_fast_prelu`]), a 2x2 max pool ([`MaxPool2x2`], tract's
//! generic one was the single slowest node), the residual add fused into the `PRelu` after it
//! ([`AddChannelPrelu`], [`fuse_add_prelu`]), and a planar (NCHW) image input so that the
//! model's leading NHWC -> NCHW transpose disappears. All four are exact: the golden tests hold
//! and no output value changes. A fifth computes each of the 20 residual bottleneck blocks from
//! 128x128 down to 8x8 as one row-streaming node ([`ResidualBottleneck`],
//! [`fuse_residual_bottlenecks`]; landmark model 8.7-9.4 -> 5.8 ms): it rounds differently from
//! tract (fused multiply-adds in another order), within the golden tests' tolerance.
//!
//! [`Backend::Ort`] (cargo feature `ort`) runs the same files in ONNX Runtime instead; it
//! measured slower than tract on real face crops here (see `docs/benchmarks.md`).

use std::path::PathBuf;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::{
    AxisOp, Expansion, InferenceResult, Solver, StaticName, TensorProxy, check_input_arity,
    check_output_arity, expand,
};

use crate::crop::PixelLayout;
use crate::error::VisionError;

mod bottleneck;
#[cfg(feature = "ort")]
mod ort_backend;
mod tract_ops;
pub use bottleneck::{ResidualBottleneck, fuse_residual_bottlenecks};
pub use tract_ops::{AddChannelPrelu, ChannelPrelu, MaxPool2x2, fuse_add_prelu, replace_max_pools};

/// A model's static description: where its bytes are, the fixed input shape, the outputs used.
#[derive(Clone, Copy)]
pub struct ModelSpec {
    /// File stem in `models/`, used in error messages.
    pub name: &'static str,
    /// The ONNX file's bytes.
    pub onnx: &'static [u8],
    /// The one input's fixed shape.
    pub input_shape: &'static [usize],
    /// The outputs to keep, in the order the runner returns them. Unused outputs are dropped so
    /// that tract prunes the branches that compute them.
    pub output_names: &'static [&'static str],
}

impl std::fmt::Debug for ModelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the megabytes of `onnx`.
        f.debug_struct("ModelSpec")
            .field("name", &self.name)
            .field("onnx_bytes", &self.onnx.len())
            .field("input_shape", &self.input_shape)
            .field("output_names", &self.output_names)
            .finish()
    }
}

/// BlazeFace short range: 1x128x128x3 RGB in [-1, 1] -> 896 anchors.
pub const FACE_DETECTOR_SHORT_RANGE: ModelSpec = ModelSpec {
    name: "face_detector",
    onnx: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/face_detector.onnx"
    )),
    input_shape: &[1, 128, 128, 3],
    output_names: &["regressors", "classificators"],
};

/// BlazeFace full range: 1x192x192x3 RGB in [-1, 1] -> 2304 anchors.
pub const FACE_DETECTOR_FULL_RANGE: ModelSpec = ModelSpec {
    name: "face_detection_full_range",
    onnx: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/face_detection_full_range.onnx"
    )),
    input_shape: &[1, 192, 192, 3],
    output_names: &["reshaped_regressor_face_4", "reshaped_classifier_face_4"],
};

/// Face mesh: 1x256x256x3 RGB in [0, 1] -> 478 x (x, y, z) crop pixels, presence logit.
pub const FACE_LANDMARKS: ModelSpec = ModelSpec {
    name: "face_landmarks_detector",
    onnx: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/face_landmarks_detector.onnx"
    )),
    input_shape: &[1, 256, 256, 3],
    output_names: &["Identity", "Identity_1"],
};

/// Blendshapes: 1x146x2 landmark (x, y) image pixels -> 52 scores.
pub const FACE_BLENDSHAPES: ModelSpec = ModelSpec {
    name: "face_blendshapes",
    onnx: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/face_blendshapes.onnx"
    )),
    input_shape: &[1, 146, 2],
    output_names: &["StatefulPartitionedCall:0"],
};

/// Which inference engine runs the models.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// `tract-onnx`, pure Rust, compiled in (the default).
    #[default]
    Tract,
    /// ONNX Runtime, loaded at run time from this `libonnxruntime.so` (cargo feature `ort`;
    /// without it, choosing this backend is an error). One library per process: the first
    /// path used is kept.
    Ort(PathBuf),
}

impl Backend {
    /// Short name (`tract`, `ort`).
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::Ort(_) => "ort",
        }
    }
}

/// What runs a loaded model.
#[derive(Clone)]
enum Engine {
    Tract(Arc<TypedSimplePlan>),
    /// Each runner builds its own ONNX Runtime session from the spec's bytes.
    #[cfg(feature = "ort")]
    Ort,
}

/// A loaded, optimised, runnable model. Cheap to clone (shared plan).
#[derive(Clone)]
pub struct LoadedModel {
    spec: ModelSpec,
    engine: Engine,
    input_layout: PixelLayout,
    /// The runner's input shape: `spec.input_shape`, or its NCHW form for a planar image input.
    input_shape: Vec<usize>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("LoadedModel");
        debug.field("spec", &self.spec);
        match &self.engine {
            Engine::Tract(plan) => debug.field("tract_nodes", &plan.model().nodes().len()),
            #[cfg(feature = "ort")]
            Engine::Ort => debug.field("engine", &"onnxruntime"),
        };
        debug.finish()
    }
}

impl LoadedModel {
    /// Parses, types, optimises and plans one model in tract. Slow (milliseconds to a second):
    /// do it once.
    pub fn load(spec: ModelSpec) -> Result<Self, VisionError> {
        let err = |e: TractError| VisionError::model_load(spec.name, e);
        let mut model = onnx_with_fast_prelu()
            .model_for_read(&mut &*spec.onnx)
            .map_err(err)?;
        model
            .set_input_fact(0, f32::fact(spec.input_shape).into())
            .map_err(err)?;
        model
            .select_outputs_by_name(spec.output_names)
            .map_err(err)?;
        // An image input is fed planar (NCHW): tract's convolutions work in NCHW, and the
        // transpose the ONNX file starts with then cancels out instead of costing a pass.
        let input_layout = match spec.input_shape {
            [_, _, _, 3] => PixelLayout::Planar,
            _ => PixelLayout::Interleaved,
        };
        let input_shape = match (input_layout, spec.input_shape) {
            (PixelLayout::Planar, &[n, h, w, c]) => vec![n, c, h, w],
            _ => spec.input_shape.to_vec(),
        };
        let plan = model
            .into_typed()
            .and_then(|mut typed| {
                if input_layout == PixelLayout::Planar {
                    feed_planar(&mut typed, &input_shape)?;
                }
                fuse_residual_bottlenecks(&mut typed)?;
                typed.declutter()?;
                replace_max_pools(&mut typed)?;
                fuse_add_prelu(&mut typed)?;
                typed.optimize()?;
                typed.into_runnable()
            })
            .map_err(err)?;
        Ok(LoadedModel {
            spec,
            engine: Engine::Tract(plan),
            input_layout,
            input_shape,
        })
    }

    /// Prepares `spec` for `backend` ([`LoadedModel::load`] for tract).
    pub fn load_with(spec: ModelSpec, backend: &Backend) -> Result<Self, VisionError> {
        match backend {
            Backend::Tract => Self::load(spec),
            #[cfg(feature = "ort")]
            Backend::Ort(library_path) => {
                ort_backend::environment(library_path)?;
                // Check that the model loads now rather than at the first frame.
                ort_backend::OrtRunner::new(&spec)?;
                Ok(LoadedModel {
                    spec,
                    engine: Engine::Ort,
                    input_layout: PixelLayout::Interleaved,
                    input_shape: spec.input_shape.to_vec(),
                })
            }
            #[cfg(not(feature = "ort"))]
            Backend::Ort(_) => Err(VisionError::BackendUnavailable {
                backend: "ONNX Runtime",
                hint: "build microcue with `cargo build --release --features ort`, or leave out \
                       `--backend ort` to use the built-in tract backend",
            }),
        }
    }

    /// The model's description.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The optimised tract plan (for profiling; per-frame use goes through [`ModelRunner`]);
    /// `None` on another backend.
    pub fn plan(&self) -> Option<&Arc<TypedSimplePlan>> {
        match &self.engine {
            Engine::Tract(plan) => Some(plan),
            #[cfg(feature = "ort")]
            Engine::Ort => None,
        }
    }

    /// How the runner's image input is laid out (planar for tract's image models).
    pub fn input_layout(&self) -> PixelLayout {
        self.input_layout
    }

    /// The runner's input shape (NCHW for a planar image input).
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
}

/// Makes the model's single NHWC input NCHW (`planar_shape`) by moving the channel axis back
/// right after the source; decluttering then cancels that move against the model's own
/// NHWC -> NCHW transpose.
fn feed_planar(model: &mut TypedModel, planar_shape: &[usize]) -> TractResult<()> {
    use tract_onnx::tract_core::ops::source::TypedSource;
    let source = model.input_outlets()?[0];
    let successors = model.outlet_successors(source).to_vec();
    let fact = f32::fact(planar_shape);
    model.nodes[source.node].op = Box::new(TypedSource::new(fact.clone()));
    model.set_outlet_fact(source, fact)?;
    let interleaved =
        model.wire_node("input.planar_to_interleaved", AxisOp::Move(1, 3), &[source])?[0];
    for inlet in successors {
        model.add_edge(interleaved, inlet)?;
    }
    Ok(())
}

/// The four face models, loaded once. Share it (`&FaceModels`) between trackers: each
/// [`crate::FaceTracker`] keeps its own per-run state and buffers.
#[derive(Debug, Clone)]
pub struct FaceModels {
    /// BlazeFace short range (faces within ~2 m, 128x128 input).
    pub detector_short_range: LoadedModel,
    /// BlazeFace full range (small, far or several faces, 192x192 input).
    pub detector_full_range: LoadedModel,
    /// The 478-point face mesh with iris.
    pub landmarks: LoadedModel,
    /// The 52 blendshapes.
    pub blendshapes: LoadedModel,
}

impl FaceModels {
    /// Loads and optimises the four embedded models in tract.
    pub fn load() -> Result<Self, VisionError> {
        Self::load_with(&Backend::Tract)
    }

    /// Loads the four embedded models for `backend`: the landmark model on a second thread
    /// beside the other three (start-up takes about half the wall time on two cores).
    pub fn load_with(backend: &Backend) -> Result<Self, VisionError> {
        std::thread::scope(|scope| {
            let landmarks = std::thread::Builder::new()
                .name("microcue-load".into())
                .spawn_scoped(scope, || LoadedModel::load_with(FACE_LANDMARKS, backend));
            let others = (|| {
                Ok((
                    LoadedModel::load_with(FACE_DETECTOR_SHORT_RANGE, backend)?,
                    LoadedModel::load_with(FACE_DETECTOR_FULL_RANGE, backend)?,
                    LoadedModel::load_with(FACE_BLENDSHAPES, backend)?,
                ))
            })();
            let landmarks = match landmarks {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No second thread: load it here.
                Err(_) => LoadedModel::load_with(FACE_LANDMARKS, backend),
            };
            let (detector_short_range, detector_full_range, blendshapes) = others?;
            Ok(FaceModels {
                detector_short_range,
                detector_full_range,
                landmarks: landmarks?,
                blendshapes,
            })
        })
    }
}

/// A runner's engine state.
enum RunnerEngine {
    Tract {
        state: TypedSimpleState,
        /// The input tensor. Tract holds a second reference only while running, so between
        /// runs `Arc::make_mut` hands it back without copying.
        input: Arc<Tensor>,
        outputs: TVec<TValue>,
    },
    #[cfg(feature = "ort")]
    Ort(ort_backend::OrtRunner),
}

/// Runs one model again and again with no per-call setup: the engine state and the input
/// tensor are kept, the caller writes the next input in place ([`ModelRunner::fill_input`]),
/// runs, and reads the outputs as slices ([`ModelRunner::output`]).
pub struct ModelRunner {
    spec: ModelSpec,
    input_layout: PixelLayout,
    engine: RunnerEngine,
}

impl std::fmt::Debug for ModelRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRunner")
            .field("spec", &self.spec)
            .field("input_layout", &self.input_layout)
            .finish_non_exhaustive()
    }
}

impl ModelRunner {
    /// A runner for `model` with a zeroed input.
    pub fn new(model: &LoadedModel) -> Result<Self, VisionError> {
        let spec = model.spec;
        let engine = match &model.engine {
            Engine::Tract(plan) => {
                let state = plan
                    .spawn()
                    .map_err(|e| VisionError::model_load(spec.name, e))?;
                let input = Tensor::zero::<f32>(model.input_shape())
                    .map_err(|e| VisionError::model_load(spec.name, e))?;
                RunnerEngine::Tract {
                    state,
                    input: Arc::new(input),
                    outputs: TVec::new(),
                }
            }
            #[cfg(feature = "ort")]
            Engine::Ort => RunnerEngine::Ort(ort_backend::OrtRunner::new(&spec)?),
        };
        Ok(ModelRunner {
            spec,
            input_layout: model.input_layout,
            engine,
        })
    }

    /// The model's description.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// How the input tensor is laid out for [`ModelRunner::fill_input`] (tract's image models:
    /// planar).
    pub fn input_layout(&self) -> PixelLayout {
        self.input_layout
    }

    /// Number of f32 values of the input.
    pub fn input_len(&self) -> usize {
        self.spec.input_shape.iter().product()
    }

    /// Lets `fill` overwrite the input tensor's values in place (row-major, in
    /// [`ModelRunner::input_layout`]).
    pub fn fill_input<R>(&mut self, fill: impl FnOnce(&mut [f32]) -> R) -> Result<R, VisionError> {
        let name = self.spec.name;
        match &mut self.engine {
            RunnerEngine::Tract { input, .. } => {
                // No copy: tract dropped its reference to the input at the end of the last run.
                let tensor = Arc::make_mut(input);
                let mut view = tensor
                    .try_as_plain_ram_mut()
                    .map_err(|e| VisionError::inference(name, e))?;
                let values = view
                    .as_slice_mut::<f32>()
                    .map_err(|e| VisionError::inference(name, e))?;
                Ok(fill(values))
            }
            #[cfg(feature = "ort")]
            RunnerEngine::Ort(runner) => Ok(fill(runner.input_mut()?)),
        }
    }

    /// Copies `input`, in the ONNX model's own layout (NHWC for images, as the reference
    /// tensors are stored), into the input tensor and runs the model.
    pub fn run_with(&mut self, input: &[f32]) -> Result<(), VisionError> {
        let expected = self.input_len();
        if input.len() != expected {
            return Err(VisionError::InputLength {
                model: self.spec.name,
                expected,
                actual: input.len(),
            });
        }
        let shape = self.spec.input_shape;
        match (self.input_layout, shape) {
            (PixelLayout::Planar, &[_, height, width, channels]) => {
                self.fill_input(|values| {
                    let plane_len = height * width;
                    for (pixel, interleaved) in input.chunks_exact(channels).enumerate() {
                        for (c, value) in interleaved.iter().enumerate() {
                            values[c * plane_len + pixel] = *value;
                        }
                    }
                })?;
            }
            _ => self.fill_input(|values| values.copy_from_slice(input))?,
        }
        self.run()
    }

    /// Runs the model on the current input tensor.
    pub fn run(&mut self) -> Result<(), VisionError> {
        let name = self.spec.name;
        match &mut self.engine {
            RunnerEngine::Tract {
                state,
                input,
                outputs,
            } => {
                outputs.clear();
                *outputs = state
                    .run(tvec![TValue::from_const(Arc::clone(input))])
                    .map_err(|e| VisionError::inference(name, e))?;
                Ok(())
            }
            #[cfg(feature = "ort")]
            RunnerEngine::Ort(runner) => runner.run(&self.spec),
        }
    }

    /// Output `index` of the last run (in [`ModelSpec::output_names`] order), flattened.
    pub fn output(&self, index: usize) -> Result<&[f32], VisionError> {
        let name = self.spec.name;
        let missing = |count: usize| VisionError::ModelOutput {
            model: name,
            detail: format!("{count} outputs, expected at least {}", index + 1),
        };
        match &self.engine {
            RunnerEngine::Tract { outputs, .. } => {
                let value = outputs.get(index).ok_or_else(|| missing(outputs.len()))?;
                let view = value
                    .try_as_plain_ram()
                    .map_err(|e| VisionError::inference(name, e))?;
                view.as_slice::<f32>()
                    .map_err(|e| VisionError::inference(name, e))
            }
            #[cfg(feature = "ort")]
            RunnerEngine::Ort(runner) => runner
                .output(index)
                .ok_or_else(|| missing(self.spec.output_names.len())),
        }
    }

    /// Output `index` of the last run, checked to hold exactly `expected_len` values.
    pub fn output_checked(&self, index: usize, expected_len: usize) -> Result<&[f32], VisionError> {
        let values = self.output(index)?;
        if values.len() != expected_len {
            return Err(VisionError::ModelOutput {
                model: self.spec.name,
                detail: format!(
                    "{} values in output `{}`, expected {expected_len}",
                    values.len(),
                    self.spec.output_names.get(index).copied().unwrap_or("?")
                ),
            });
        }
        Ok(values)
    }

    /// True when the input tensor is not shared with the engine (so the next `fill_input` is
    /// free).
    pub fn input_is_exclusive(&self) -> bool {
        match &self.engine {
            RunnerEngine::Tract { input, .. } => Arc::strong_count(input) == 1,
            #[cfg(feature = "ort")]
            RunnerEngine::Ort(_) => true,
        }
    }
}

/// The ONNX front end with a faster `PRelu`.
///
/// tract expands `PRelu(x, slope)` into `Iff(0 > x, slope * x, x)`; the comparison with a
/// broadcast zero is slow, and the landmark model has 69 PRelus (about a third of its time).
/// A constant per-channel (or scalar) slope becomes one [`ChannelPrelu`] node (one pass, in
/// place). Other slopes get an expansion without a comparison: `max(x, slope * x)` when every
/// slope is <= 1, otherwise `max(x, 0) + slope * min(x, 0)`. All are exact.
pub fn onnx_with_fast_prelu() -> tract_onnx::Onnx {
    let mut framework = onnx();
    framework
        .op_register
        .insert("PRelu", |_, _| Ok((expand(FastPrelu), vec![])));
    framework
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct FastPrelu;

impl Expansion for FastPrelu {
    fn name(&self) -> StaticName {
        "FastPrelu".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        use tract_onnx::tract_core::ops::math;
        let x = inputs[0];
        let mut slope = inputs[1];
        let rank = model.outlet_fact(x)?.rank();
        while model.outlet_fact(slope)?.rank() < rank {
            let axis_name = format!("{name}.add-axis-{}", model.outlet_fact(slope)?.rank());
            slope = model.wire_node(axis_name, AxisOp::Add(0), &[slope])?[0];
        }
        if let Some(op) = model
            .outlet_fact(slope)?
            .konst
            .as_ref()
            .and_then(|slopes| ChannelPrelu::from_const(slopes, rank))
        {
            return model.wire_node(name, op, &[x]);
        }
        let slopes_at_most_one = model
            .outlet_fact(slope)?
            .konst
            .as_ref()
            .and_then(|slopes| {
                let view = slopes.try_as_plain_ram().ok()?;
                let values = view.as_slice::<f32>().ok()?;
                Some(values.iter().all(|a| *a <= 1.0))
            })
            .unwrap_or(false);
        if slopes_at_most_one {
            let scaled = model.wire_node(format!("{name}.mul"), math::mul(), &[x, slope])?[0];
            return model.wire_node(format!("{name}.max"), math::max(), &[x, scaled]);
        }
        let zero = tensor0(0.0f32)
            .cast_to_dt(model.outlet_fact(x)?.datum_type)?
            .into_owned()
            .broadcast_into_rank(rank)?;
        let zero = model.add_const(format!("{name}.zero"), zero)?;
        let positive = model.wire_node(format!("{name}.positive"), math::max(), &[x, zero])?[0];
        let negative = model.wire_node(format!("{name}.negative"), math::min(), &[x, zero])?[0];
        let scaled = model.wire_node(format!("{name}.mul"), math::mul(), &[negative, slope])?[0];
        model.wire_node(format!("{name}.add"), math::add(), &[positive, scaled])
    }
}
