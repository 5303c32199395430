//! `microcue._microcue`: the extension module under the `microcue` Python package.
//!
//! It is thin: every analysis goes through the library functions the CLI uses
//! ([`analyze_recording`] on a [`Pipeline`] for videos, [`analyze_all`] for signals,
//! [`read_openface_with`] for OpenFace CSVs), so that Python gets the CLI's events and the
//! CLI's error messages. Events cross as the CLI's JSON Lines (the same serialisation as
//! `microcue analyze`); per-frame signals as flat arrays that become NumPy arrays without a copy.
//! The Python layer (`microcue/__init__.py`) adds consent, the `Events` list and warnings.
//! The GIL is released while a video is analysed, so Python threads (and Ray actors in one
//! process) run in parallel.

use std::convert::Infallible;
use std::fs::File;
use std::path::{Path, PathBuf};

use microcue_core::formats::{OpenFaceOptions, read_openface_with};
use microcue_core::spotter::{SpotterConfig, analyze_all};
use microcue_core::{
    BLENDSHAPE_COUNT, CueId, Event, FaceSignals, HeadPose, LANDMARK_COUNT, Region, RegionMotion,
    TrackId,
};
use microcue_vision::Pipeline;
use microcue_vision::pipeline::Step;
use microcue_vision::recording::{RecordingError, RecordingSettings, analyze_recording};
use microcue_vision::source::{SourceSpec, open_source};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _microcue,
    MicrocueError,
    PyException,
    "Base class of microcue's errors; the message is the one `microcue analyze` prints."
);
create_exception!(
    _microcue,
    InputError,
    MicrocueError,
    "An input microcue cannot read: a missing or undecodable video, a malformed signals array or OpenFace CSV."
);
create_exception!(
    _microcue,
    AnalysisError,
    MicrocueError,
    "The face analysis itself failed (the models did not load or failed on a frame)."
);

/// A Rust error as the CLI prints it: the message and its causes, joined by `: `.
fn message(error: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{:#}", Chain(&error))
}

/// `{:#}` of an error chain, as `anyhow` prints it.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Events as the CLI's JSON Lines.
fn jsonl(events: &[Event]) -> PyResult<String> {
    let mut text = String::new();
    for event in events {
        let line =
            serde_json::to_string(event).map_err(|error| MicrocueError::new_err(message(error)))?;
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// Per-face-per-frame signals as flat columns (row-major), ready to become NumPy arrays.
#[derive(Default)]
struct Columns {
    times: Vec<f64>,
    frame_index: Vec<u64>,
    track: Vec<u32>,
    presence: Vec<f32>,
    /// rows x 478 x 3; NaN for rows without landmarks.
    landmarks: Vec<f32>,
    any_landmarks: bool,
    /// rows x 52.
    blendshapes: Vec<f32>,
    /// rows x 3: yaw, pitch, roll (degrees).
    head_pose: Vec<f32>,
    /// rows x 13 x 2; NaN for rows without region motion.
    region_motion: Vec<f32>,
    region_motion_lag_s: Vec<f32>,
    any_region_motion: bool,
}

impl Columns {
    fn push(&mut self, frame_index: u64, face: &FaceSignals) {
        self.times.push(face.pts_s);
        self.frame_index.push(frame_index);
        self.track.push(face.track.0);
        self.presence.push(face.presence);
        if face.landmarks_in_image.len() == LANDMARK_COUNT {
            self.any_landmarks = true;
            self.landmarks
                .extend(face.landmarks_in_image.iter().flatten());
        } else {
            self.landmarks
                .extend(std::iter::repeat_n(f32::NAN, LANDMARK_COUNT * 3));
        }
        self.blendshapes.extend(
            (0..BLENDSHAPE_COUNT).map(|index| face.blendshapes.get(index).copied().unwrap_or(0.0)),
        );
        let pose = face.head_pose;
        self.head_pose
            .extend([pose.yaw_deg, pose.pitch_deg, pose.roll_deg]);
        match &face.region_motion {
            Some(motion) => {
                self.any_region_motion = true;
                self.region_motion.extend(motion.values.iter().flatten());
                self.region_motion_lag_s.push(motion.lag_s);
            }
            None => {
                self.region_motion
                    .extend(std::iter::repeat_n(f32::NAN, Region::COUNT * 2));
                self.region_motion_lag_s.push(f32::NAN);
            }
        }
    }

    /// The columns as a dict of NumPy arrays (`landmarks` and `region_motion` are `None` when no
    /// row has them).
    fn into_dict(self, py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let rows = self.times.len();
        let dict = PyDict::new(py);
        dict.set_item("times", PyArray1::from_vec(py, self.times))?;
        dict.set_item("frame_index", PyArray1::from_vec(py, self.frame_index))?;
        dict.set_item("track", PyArray1::from_vec(py, self.track))?;
        dict.set_item("presence", PyArray1::from_vec(py, self.presence))?;
        if self.any_landmarks {
            let array =
                PyArray1::from_vec(py, self.landmarks).reshape([rows, LANDMARK_COUNT, 3])?;
            dict.set_item("landmarks", array)?;
        } else {
            dict.set_item("landmarks", py.None())?;
        }
        let blendshapes =
            PyArray1::from_vec(py, self.blendshapes).reshape([rows, BLENDSHAPE_COUNT])?;
        dict.set_item("blendshapes", blendshapes)?;
        dict.set_item(
            "head_pose",
            PyArray1::from_vec(py, self.head_pose).reshape([rows, 3])?,
        )?;
        if self.any_region_motion {
            let array =
                PyArray1::from_vec(py, self.region_motion).reshape([rows, Region::COUNT, 2])?;
            dict.set_item("region_motion", array)?;
            dict.set_item(
                "region_motion_lag_s",
                PyArray1::from_vec(py, self.region_motion_lag_s),
            )?;
        } else {
            dict.set_item("region_motion", py.None())?;
            dict.set_item("region_motion_lag_s", py.None())?;
        }
        Ok(dict)
    }
}

/// What one video analysis saw, for the Python layer.
struct Outcome {
    events: Vec<Event>,
    columns: Columns,
    frames: u64,
    frames_with_face: u64,
    duration_s: Option<f64>,
    fps: Option<f64>,
    /// Set when no frame had a face.
    no_face: Option<String>,
    /// Set when decoding stopped early; `events` are those found before.
    decode_error: Option<String>,
}

impl Outcome {
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("frames", self.frames)?;
        dict.set_item("frames_with_face", self.frames_with_face)?;
        dict.set_item("duration_s", self.duration_s)?;
        dict.set_item("fps", self.fps)?;
        dict.set_item("no_face", self.no_face.as_deref())?;
        dict.set_item("decode_error", self.decode_error.as_deref())?;
        Ok(dict)
    }
}

/// The face models, loaded once, and the analysis settings.
#[pyclass(module = "microcue._microcue", name = "Analyzer", frozen)]
struct Analyzer {
    pipeline: Pipeline,
    settings: RecordingSettings,
    allow_ffmpeg: bool,
    /// Keep a file's analysis on one thread (a worker given one CPU, e.g. a Ray actor).
    single_thread: bool,
}

impl Analyzer {
    /// Analyses a video as `microcue analyze` does; the GIL is released meanwhile.
    fn run(
        &self,
        py: Python<'_>,
        path: &Path,
        fps: Option<f64>,
        keep_signals: bool,
    ) -> PyResult<Outcome> {
        py.detach(|| {
            let mut spec = SourceSpec::new(path).with_ffmpeg(self.allow_ffmpeg);
            if let Some(fps) = fps {
                spec = spec.with_fps(fps);
            }
            let source = open_source(&spec).map_err(|error| InputError::new_err(message(error)))?;
            let fps = source.info().nominal_fps;
            let name = path.display().to_string();
            let mut events = Vec::new();
            let mut columns = Columns::default();
            let mut settings = self.settings.run_settings();
            if self.single_thread {
                settings = settings.on_one_thread();
            }
            let run = analyze_recording(&self.pipeline, source, &name, &settings, &mut |step| {
                if keep_signals && let Step::Frame(report) = &step {
                    for face in report.faces {
                        columns.push(report.frame.index, face);
                    }
                }
                events.extend_from_slice(step.events());
                Ok::<(), Infallible>(())
            });
            let mut outcome = Outcome {
                events: Vec::new(),
                columns: Columns::default(),
                frames: 0,
                frames_with_face: 0,
                duration_s: None,
                fps,
                no_face: None,
                decode_error: None,
            };
            match run.map_err(RecordingError::into_caller) {
                Ok(summary) => {
                    outcome.frames = summary.frames;
                    outcome.frames_with_face = summary.frames_with_face;
                    outcome.duration_s = summary.duration_s();
                    if !summary.found_face() {
                        outcome.no_face = Some(summary.no_face_message(&name));
                    }
                }
                Err(Ok(never)) => match never {},
                Err(Err(error)) => match error {
                    RecordingError::Decode(ref broken) => {
                        outcome.frames = broken.frames;
                        outcome.frames_with_face = broken.frames_with_face;
                        let note = error.kept_note().unwrap_or_default();
                        outcome.decode_error = Some(format!("{}; {note}", message(error)));
                    }
                    RecordingError::NoFrames { .. } => {
                        return Err(InputError::new_err(message(error)));
                    }
                    other => return Err(AnalysisError::new_err(message(other))),
                },
            }
            outcome.events = events;
            outcome.columns = columns;
            Ok(outcome)
        })
    }
}

#[pymethods]
impl Analyzer {
    #[new]
    #[pyo3(signature = (max_faces = 1, region_motion = true, spotter_config = None, ffmpeg = true, single_thread = false))]
    fn new(
        py: Python<'_>,
        max_faces: usize,
        region_motion: bool,
        spotter_config: Option<&str>,
        ffmpeg: bool,
        single_thread: bool,
    ) -> PyResult<Self> {
        let spotter = match spotter_config {
            None => SpotterConfig::default(),
            Some(text) => {
                let config: SpotterConfig = serde_json::from_str(text).map_err(|error| {
                    InputError::new_err(format!(
                        "not valid spotter settings (a JSON object with fields of SpotterConfig): {error}"
                    ))
                })?;
                config.validate().map_err(InputError::new_err)?;
                config
            }
        };
        let pipeline = py
            .detach(Pipeline::load)
            .map_err(|error| AnalysisError::new_err(message(error)))?;
        Ok(Analyzer {
            pipeline,
            settings: RecordingSettings {
                max_faces: max_faces.max(1),
                region_motion,
                spotter,
            },
            allow_ffmpeg: ffmpeg,
            single_thread,
        })
    }

    /// Events of a video as JSON Lines, and a summary dict.
    #[pyo3(signature = (path, fps = None))]
    fn analyze<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        fps: Option<f64>,
    ) -> PyResult<(String, Bound<'py, PyDict>)> {
        let outcome = self.run(py, &path, fps, false)?;
        Ok((jsonl(&outcome.events)?, outcome.summary(py)?))
    }

    /// Per-face-per-frame signals of a video (a dict of arrays), its events as JSON Lines, and a
    /// summary dict.
    #[pyo3(signature = (path, fps = None))]
    fn signals<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        fps: Option<f64>,
    ) -> PyResult<(Bound<'py, PyDict>, String, Bound<'py, PyDict>)> {
        let mut outcome = self.run(py, &path, fps, true)?;
        let columns = std::mem::take(&mut outcome.columns);
        Ok((
            columns.into_dict(py)?,
            jsonl(&outcome.events)?,
            outcome.summary(py)?,
        ))
    }

    /// Events (JSON Lines) of signals given as contiguous arrays, as `microcue analyze
    /// --signals` finds them.
    #[pyo3(signature = (times, track, presence, blendshapes, landmarks, head_pose, region_motion, region_motion_lag_s, unavailable_cues))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one array per signal, named as in Python"
    )]
    fn analyze_signals(
        &self,
        py: Python<'_>,
        times: PyReadonlyArray1<'_, f64>,
        track: PyReadonlyArray1<'_, u32>,
        presence: PyReadonlyArray1<'_, f32>,
        blendshapes: PyReadonlyArray1<'_, f32>,
        landmarks: Option<PyReadonlyArray1<'_, f32>>,
        head_pose: PyReadonlyArray1<'_, f32>,
        region_motion: Option<PyReadonlyArray1<'_, f32>>,
        region_motion_lag_s: Option<PyReadonlyArray1<'_, f32>>,
        unavailable_cues: Vec<String>,
    ) -> PyResult<String> {
        let rows = times.len();
        let slice = |name: &str, array: &PyReadonlyArray1<'_, f32>, per_row: usize| {
            let values = array
                .as_slice()
                .map_err(|_| InputError::new_err(format!("`{name}` must be contiguous")))?;
            if values.len() != rows * per_row {
                return Err(InputError::new_err(format!(
                    "`{name}` has {} values for {rows} rows; expected {per_row} per row",
                    values.len()
                )));
            }
            Ok(values.to_vec())
        };
        let times = times
            .as_slice()
            .map_err(|_| InputError::new_err("`times` must be contiguous"))?
            .to_vec();
        let track = track
            .as_slice()
            .map_err(|_| InputError::new_err("`track` must be contiguous"))?
            .to_vec();
        if track.len() != rows {
            return Err(InputError::new_err(format!(
                "`track` has {} values for {rows} rows",
                track.len()
            )));
        }
        let presence = slice("presence", &presence, 1)?;
        let blendshapes = slice("blendshapes", &blendshapes, BLENDSHAPE_COUNT)?;
        let head_pose = slice("head_pose", &head_pose, 3)?;
        let landmarks = landmarks
            .map(|array| slice("landmarks", &array, LANDMARK_COUNT * 3))
            .transpose()?;
        let region_motion = region_motion
            .map(|array| slice("region_motion", &array, Region::COUNT * 2))
            .transpose()?;
        let lags = region_motion_lag_s
            .map(|array| slice("region_motion_lag_s", &array, 1))
            .transpose()?;
        let mut config = self.settings.spotter.clone();
        for name in &unavailable_cues {
            let cue: CueId = serde_json::from_value(serde_json::Value::String(name.clone()))
                .map_err(|_| {
                    InputError::new_err(format!(
                        "`{name}` is not a cue id (see microcue.lexicon())"
                    ))
                })?;
            config.unavailable_cues.push(cue);
        }
        let events = py.detach(|| {
            let mut signals = Vec::with_capacity(rows);
            for row in 0..rows {
                let landmarks_in_image = landmarks
                    .as_ref()
                    .map(|values| &values[row * LANDMARK_COUNT * 3..(row + 1) * LANDMARK_COUNT * 3])
                    .filter(|values| values.iter().all(|v| !v.is_nan()))
                    .map(|values| {
                        values
                            .chunks_exact(3)
                            .map(|point| [point[0], point[1], point[2]])
                            .collect()
                    })
                    .unwrap_or_default();
                let region_motion = region_motion
                    .as_ref()
                    .map(|values| &values[row * Region::COUNT * 2..(row + 1) * Region::COUNT * 2])
                    .filter(|values| values.iter().all(|v| !v.is_nan()))
                    .map(|values| {
                        let mut motion = RegionMotion {
                            lag_s: lags.as_ref().map_or(0.0, |lags| lags[row]),
                            ..RegionMotion::default()
                        };
                        for (pair, value) in motion.values.iter_mut().zip(values.chunks_exact(2)) {
                            *pair = [value[0], value[1]];
                        }
                        motion
                    });
                let face = FaceSignals {
                    pts_s: times[row],
                    track: TrackId(track[row]),
                    presence: presence[row],
                    landmarks_in_image,
                    blendshapes: blendshapes[row * BLENDSHAPE_COUNT..(row + 1) * BLENDSHAPE_COUNT]
                        .to_vec(),
                    head_pose: HeadPose {
                        yaw_deg: head_pose[row * 3],
                        pitch_deg: head_pose[row * 3 + 1],
                        roll_deg: head_pose[row * 3 + 2],
                    },
                    region_motion,
                };
                face.validate()
                    .map_err(|problem| InputError::new_err(format!("row {row}: {problem}")))?;
                signals.push(face);
            }
            Ok::<_, PyErr>(analyze_all(&signals, &config))
        })?;
        jsonl(&events)
    }
}

/// The lexicon as `microcue lexicon --json` prints it.
#[pyfunction]
fn lexicon_json() -> PyResult<String> {
    serde_json::to_string(microcue_core::lexicon::lexicon())
        .map_err(|error| MicrocueError::new_err(message(error)))
}

/// An OpenFace 2.x CSV as signal columns, with the cues it cannot express and notes.
#[pyfunction]
#[pyo3(signature = (path, fps = None))]
fn read_openface<'py>(
    py: Python<'py>,
    path: PathBuf,
    fps: Option<f64>,
) -> PyResult<(Bound<'py, PyDict>, Vec<String>, Vec<String>)> {
    let import = py.detach(|| {
        let file = File::open(&path).map_err(|error| {
            InputError::new_err(format!("cannot open `{}`: {error}", path.display()))
        })?;
        let options = OpenFaceOptions { frame_rate_hz: fps };
        read_openface_with(file, &options).map_err(|error| {
            InputError::new_err(format!("in `{}`: {}", path.display(), message(error)))
        })
    })?;
    let mut columns = Columns::default();
    for (row, face) in import.signals.iter().enumerate() {
        columns.push(row as u64, face);
    }
    let unavailable = import
        .unavailable_cues
        .iter()
        .map(|cue| cue.as_str().to_string())
        .collect();
    Ok((columns.into_dict(py)?, unavailable, import.notes))
}

#[pymodule]
fn _microcue(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_class::<Analyzer>()?;
    module.add_function(wrap_pyfunction!(lexicon_json, module)?)?;
    module.add_function(wrap_pyfunction!(read_openface, module)?)?;
    module.add("MicrocueError", py.get_type::<MicrocueError>())?;
    module.add("InputError", py.get_type::<InputError>())?;
    module.add("AnalysisError", py.get_type::<AnalysisError>())?;
    module.add("BLENDSHAPE_NAMES", microcue_core::BLENDSHAPE_NAMES.to_vec())?;
    let regions: Vec<String> = Region::ALL
        .iter()
        .map(|region| {
            serde_json::to_value(region)
                .ok()
                .and_then(|value| value.as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    module.add("REGION_NAMES", regions)?;
    let limits: Vec<(&str, &str)> = microcue_core::lexicon::LIMITS
        .iter()
        .map(|limit| (limit.topic, limit.text))
        .collect();
    module.add("LIMITS", limits)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
