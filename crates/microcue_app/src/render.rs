//! Stimulus rendering: turns a drill's [`Stimulus`] description into pictures by warping a
//! neutral face with the injection engine ([`microcue_vision::warp`]).
//!
//! One renderer serves every front end: `microcue stimuli make` writes its pictures to a Y4M
//! file (full frame, the cue's raised-cosine time course sampled at a frame rate), the terminal
//! flash drill shows them with half-block characters (face crop, downscaled to fit the
//! terminal, the expression held at its apex for the exposure, as METT shows it). The neutral
//! face comes from the bundled MIT-licensed clip or a consenting person's own video; it is kept
//! in memory only.
//!
//! A rendered stimulus is a list of distinct pictures plus a timeline saying which picture to
//! show for how long, so the neutral face is stored once however long it is on screen.

use std::fmt;

use microcue_core::CueId;
use microcue_train::{Stimulus, StimulusRenderer};
use microcue_vision::source::{FrameSource, SourceError};
use microcue_vision::warp::{Envelope, MAX_AMPLITUDE_IOD, WarpSpec, is_injectable, warp_frame};
use microcue_vision::{FaceModels, FaceTracker, Frame, TrackerConfig, VisionError};

/// The bundled real-face clip (MIT, assets/README.md): the neutral face of the drills when the
/// user gives no video of their own, and the clip of `microcue demo`.
pub const BUNDLED_CLIP: &[u8] = include_bytes!("../../../assets/single_face.mp4");
/// Its name in messages.
pub const BUNDLED_CLIP_NAME: &str = "single_face.mp4 (bundled)";

/// Peak strength of the flash drills' expressions: the warp's largest fold-free amplitude (10 % of
/// the inter-ocular distance). At an 80-pixel-wide face that moves a brow or a mouth corner by
/// about 2.5 terminal pixels; at the engine's default 0.6 the movement is about 1.5 pixels, which
/// the downscaling blurs below what a 40 ms glance can see.
pub const DRILL_INTENSITY: f32 = 1.0;

/// Why no neutral face could be taken from a video.
#[derive(Debug, thiserror::Error)]
pub enum NeutralFaceError {
    /// The models or the tracker could not start.
    #[error("cannot load the embedded face models")]
    Models(#[source] Box<VisionError>),
    /// The video could not be read.
    #[error("cannot read `{name}`")]
    Read {
        name: String,
        #[source]
        source: Box<SourceError>,
    },
    /// Tracking failed on a frame.
    #[error("face tracking failed on frame {frame} of `{name}`")]
    Tracking {
        frame: u64,
        name: String,
        #[source]
        source: Box<VisionError>,
    },
    /// The video has no frames.
    #[error("`{name}` has no frames; hint: is it a video microcue can read?")]
    NoFrames { name: String },
    /// No face at or after the time asked for.
    #[error(
        "no face found at or after {at_s:.2} s in `{name}`; hint: choose another --at or a video \
         where the face is visible, lit and at least ~10% of the frame height"
    )]
    NoFace { at_s: f64, name: String },
    /// The face is too small to crop.
    #[error("the face is too small to show; hint: use a video where the face is larger")]
    TooSmall,
}

/// A neutral frame with a face and that face's 478 landmarks (image pixels).
#[derive(Debug, Clone)]
pub struct NeutralFace {
    pub frame: Frame,
    pub landmarks_in_image: Vec<[f32; 3]>,
}

impl NeutralFace {
    /// The first frame at or after `at_s` with a face in `source` (named `name` in errors).
    pub fn find(
        source: &mut dyn FrameSource,
        at_s: f64,
        name: &str,
    ) -> Result<Self, NeutralFaceError> {
        let models =
            FaceModels::load().map_err(|error| NeutralFaceError::Models(Box::new(error)))?;
        let mut tracker = FaceTracker::new(&models, TrackerConfig::default())
            .map_err(|error| NeutralFaceError::Models(Box::new(error)))?;
        let mut frame = Frame::default();
        let mut faces = Vec::new();
        let mut frames_read = 0_u64;
        while source
            .next_frame(&mut frame)
            .map_err(|source| NeutralFaceError::Read {
                name: name.to_owned(),
                source: Box::new(source),
            })?
        {
            frames_read += 1;
            if frame.pts_s + 1e-9 < at_s {
                continue;
            }
            tracker
                .process(&frame, &mut faces)
                .map_err(|source| NeutralFaceError::Tracking {
                    frame: frame.index,
                    name: name.to_owned(),
                    source: Box::new(source),
                })?;
            if let Some(face) = faces.first() {
                return Ok(NeutralFace {
                    landmarks_in_image: face.landmarks_in_image.clone(),
                    frame,
                });
            }
        }
        if frames_read == 0 {
            return Err(NeutralFaceError::NoFrames {
                name: name.to_owned(),
            });
        }
        Err(NeutralFaceError::NoFace {
            at_s,
            name: name.to_owned(),
        })
    }
}

/// Which part of a stimulus a timeline entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The neutral face before the flash.
    Before,
    /// The flash (the neutral face on a catch trial).
    Flash,
    /// The neutral face after the flash.
    After,
}

/// One entry of a timeline: show `pictures[picture]` for `hold_ms` (playback speed applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shown {
    pub picture: usize,
    pub hold_ms: f64,
    pub part: Part,
}

/// A rendered stimulus: distinct pictures (`pictures[0]` is the neutral face) and the order
/// and time to show them.
#[derive(Debug, Clone, Default)]
pub struct RenderedStimulus {
    pub pictures: Vec<Frame>,
    pub timeline: Vec<Shown>,
}

impl RenderedStimulus {
    /// The picture at the strongest moment of the flash (the neutral face for a catch trial).
    pub fn apex_picture(&self) -> &Frame {
        let index = self
            .timeline
            .iter()
            .filter(|s| s.part == Part::Flash)
            .map(|s| s.picture)
            .max()
            .unwrap_or(0);
        &self.pictures[index.min(self.pictures.len() - 1)]
    }
}

/// How the flash evolves in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashShape {
    /// The expression at its apex for the whole exposure, between neutral pictures (METT's
    /// flash: two picture changes, so a terminal can hold the timing).
    Apex,
    /// The injection engine's raised-cosine rise, hold and fall, sampled at `fps` (a video
    /// file, or slow motion).
    Envelope,
}

/// The region of the source frame shown, and the size it is scaled to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceView {
    /// Crop in source pixels.
    pub x_px: u32,
    pub y_px: u32,
    pub width_px: u32,
    pub height_px: u32,
    /// Output size in pixels (height even: two pixels per terminal cell).
    pub out_width_px: u32,
    pub out_height_px: u32,
}

impl FaceView {
    /// Crop around the landmarks with a margin (more above, where brows rise), scaled to
    /// `out_width_px` wide with square pixels; `None` for no usable landmarks.
    pub fn around(
        landmarks_in_image: &[[f32; 3]],
        frame_width: u32,
        frame_height: u32,
        out_width_px: u32,
    ) -> Option<FaceView> {
        let (mut x_min, mut y_min) = (f32::INFINITY, f32::INFINITY);
        let (mut x_max, mut y_max) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
        for point in landmarks_in_image {
            x_min = x_min.min(point[0]);
            x_max = x_max.max(point[0]);
            y_min = y_min.min(point[1]);
            y_max = y_max.max(point[1]);
        }
        let (width, height) = (x_max - x_min, y_max - y_min);
        if !(width.is_finite() && height.is_finite() && width >= 8.0 && height >= 8.0) {
            return None;
        }
        let clamp_x = |x: f32| x.clamp(0.0, frame_width as f32);
        let clamp_y = |y: f32| y.clamp(0.0, frame_height as f32);
        let left = clamp_x(x_min - 0.06 * width).floor();
        let right = clamp_x(x_max + 0.06 * width).ceil();
        let top = clamp_y(y_min - 0.10 * height).floor();
        let bottom = clamp_y(y_max + 0.04 * height).ceil();
        let (crop_width, crop_height) = (right - left, bottom - top);
        if crop_width < 8.0 || crop_height < 8.0 {
            return None;
        }
        let out_width_px = out_width_px.clamp(8, crop_width as u32);
        let mut out_height_px = (out_width_px as f32 * crop_height / crop_width)
            .round()
            .max(2.0) as u32;
        out_height_px += out_height_px % 2;
        Some(FaceView {
            x_px: left as u32,
            y_px: top as u32,
            width_px: crop_width as u32,
            height_px: crop_height as u32,
            out_width_px,
            out_height_px,
        })
    }

    /// Copies the crop of `src` into `dst` (source resolution).
    pub fn crop(&self, src: &Frame, dst: &mut Frame) {
        let width = self.width_px.min(src.width.saturating_sub(self.x_px));
        let height = self.height_px.min(src.height.saturating_sub(self.y_px));
        dst.resize(width, height);
        dst.pts_s = src.pts_s;
        dst.index = src.index;
        let row_bytes = width as usize * 3;
        for row in 0..height as usize {
            let from = ((self.y_px as usize + row) * src.width as usize + self.x_px as usize) * 3;
            let to = row * row_bytes;
            dst.rgb[to..to + row_bytes].copy_from_slice(&src.rgb[from..from + row_bytes]);
        }
    }

    /// Crops and scales `src` to the output size (area average) into `dst`.
    pub fn view(&self, src: &Frame, cropped: &mut Frame, dst: &mut Frame) {
        self.crop(src, cropped);
        downscale(cropped, self.out_width_px, self.out_height_px, dst);
    }
}

/// Area-average downscale of `src` to `width` x `height` into `dst`.
pub fn downscale(src: &Frame, width: u32, height: u32, dst: &mut Frame) {
    dst.resize(width, height);
    dst.pts_s = src.pts_s;
    dst.index = src.index;
    if src.width == 0 || src.height == 0 {
        dst.rgb.fill(0);
        return;
    }
    let scale_x = src.width as f64 / width as f64;
    let scale_y = src.height as f64 / height as f64;
    for y in 0..height as usize {
        let y0 = (y as f64 * scale_y) as usize;
        let y1 = (((y + 1) as f64 * scale_y) as usize).clamp(y0 + 1, src.height as usize);
        for x in 0..width as usize {
            let x0 = (x as f64 * scale_x) as usize;
            let x1 = (((x + 1) as f64 * scale_x) as usize).clamp(x0 + 1, src.width as usize);
            let mut sum = [0u32; 3];
            for sy in y0..y1 {
                let row = sy * src.width as usize;
                for sx in x0..x1 {
                    let i = (row + sx) * 3;
                    sum[0] += u32::from(src.rgb[i]);
                    sum[1] += u32::from(src.rgb[i + 1]);
                    sum[2] += u32::from(src.rgb[i + 2]);
                }
            }
            let count = ((y1 - y0) * (x1 - x0)) as u32;
            let out = (y * width as usize + x) * 3;
            for (value, channel_sum) in dst.rgb[out..out + 3].iter_mut().zip(sum) {
                *value = ((channel_sum + count / 2) / count) as u8;
            }
        }
    }
}

/// How [`WarpRenderer`] renders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderSettings {
    pub shape: FlashShape,
    /// Frame rate at which an [`FlashShape::Envelope`] flash is sampled.
    pub fps: f64,
    /// Neutral time before the flash, ms (real time; slowed with the stimulus).
    pub neutral_before_ms: f64,
    /// Neutral time after the flash, ms.
    pub neutral_after_ms: f64,
}

/// Why a stimulus cannot be rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum RenderError {
    /// The cue is not a local warp (blinks, gaze, anger, pupils).
    NotRenderable { cue: CueId },
    /// Exposure, intensity or speed out of range.
    Invalid { detail: String },
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::NotRenderable { cue } => write!(
                f,
                "`{cue}` cannot be rendered as a flash (not a local warp of a still face)"
            ),
            RenderError::Invalid { detail } => write!(f, "invalid stimulus: {detail}"),
        }
    }
}

impl std::error::Error for RenderError {}

/// Renders stimuli by warping one neutral face; see the module doc.
#[derive(Debug)]
pub struct WarpRenderer {
    /// The neutral source picture: the face crop at source resolution, or the whole frame.
    source: Frame,
    /// Landmarks in `source`'s pixels.
    landmarks: Vec<[f32; 3]>,
    /// Output size when scaling (`None`: the source size).
    out_size: Option<(u32, u32)>,
    pub settings: RenderSettings,
    warped: Frame,
}

impl WarpRenderer {
    /// Renders on the whole frame at its resolution (video files).
    pub fn full_frame(face: NeutralFace, settings: RenderSettings) -> WarpRenderer {
        WarpRenderer {
            source: face.frame,
            landmarks: face.landmarks_in_image,
            out_size: None,
            settings,
            warped: Frame::default(),
        }
    }

    /// Renders on the face crop scaled to `out_width_px` (terminal pictures). The warp runs at
    /// source resolution, then the result is scaled down.
    pub fn face_view(
        face: &NeutralFace,
        out_width_px: u32,
        settings: RenderSettings,
    ) -> Result<WarpRenderer, NeutralFaceError> {
        let Some(view) = FaceView::around(
            &face.landmarks_in_image,
            face.frame.width,
            face.frame.height,
            out_width_px,
        ) else {
            return Err(NeutralFaceError::TooSmall);
        };
        let mut source = Frame::default();
        view.crop(&face.frame, &mut source);
        let landmarks = face
            .landmarks_in_image
            .iter()
            .map(|p| [p[0] - view.x_px as f32, p[1] - view.y_px as f32, p[2]])
            .collect();
        Ok(WarpRenderer {
            source,
            landmarks,
            out_size: Some((view.out_width_px, view.out_height_px)),
            settings,
            warped: Frame::default(),
        })
    }

    /// Output picture size.
    pub fn picture_size(&self) -> (u32, u32) {
        self.out_size
            .unwrap_or((self.source.width, self.source.height))
    }

    /// The movement `spec` at envelope `weight`, at the output size.
    fn picture(&mut self, spec: Option<&WarpSpec>, weight: f32) -> Frame {
        match spec {
            Some(spec) if weight > 0.0 => warp_frame(
                &self.source,
                &self.landmarks,
                spec,
                weight,
                &mut self.warped,
            ),
            _ => {
                self.warped.clone_from(&self.source);
            }
        }
        match self.out_size {
            None => self.warped.clone(),
            Some((width, height)) => {
                let mut out = Frame::default();
                downscale(&self.warped, width, height, &mut out);
                out
            }
        }
    }
}

impl StimulusRenderer for WarpRenderer {
    type Rendered = RenderedStimulus;
    type Error = RenderError;

    fn render(&mut self, stimulus: &Stimulus) -> Result<RenderedStimulus, RenderError> {
        if let Some(cue) = stimulus.cue
            && !is_injectable(cue)
        {
            return Err(RenderError::NotRenderable { cue });
        }
        let settings = self.settings;
        let speed = stimulus.playback_speed;
        let valid = stimulus.exposure_ms.is_finite()
            && stimulus.exposure_ms > 0.0
            && speed.is_finite()
            && speed > 0.0
            && (0.0..=1.0).contains(&stimulus.intensity)
            && settings.fps.is_finite()
            && settings.fps >= 1.0
            && settings.neutral_before_ms >= 0.0
            && settings.neutral_after_ms >= 0.0;
        if !valid {
            return Err(RenderError::Invalid {
                detail: format!(
                    "exposure {} ms, speed {speed}, intensity {}, fps {}, neutral {}/{} ms",
                    stimulus.exposure_ms,
                    stimulus.intensity,
                    settings.fps,
                    settings.neutral_before_ms,
                    settings.neutral_after_ms
                ),
            });
        }
        let spec = stimulus.cue.map(|cue| WarpSpec {
            cue,
            side: stimulus.side,
            amplitude_iod: stimulus.intensity * MAX_AMPLITUDE_IOD,
        });
        let mut rendered = RenderedStimulus {
            pictures: vec![self.picture(None, 0.0)],
            timeline: Vec::new(),
        };
        match settings.shape {
            FlashShape::Apex => {
                let flash = match &spec {
                    Some(spec) => {
                        rendered.pictures.push(self.picture(Some(spec), 1.0));
                        1
                    }
                    None => 0,
                };
                rendered.timeline = vec![
                    Shown {
                        picture: 0,
                        hold_ms: settings.neutral_before_ms / speed,
                        part: Part::Before,
                    },
                    Shown {
                        picture: flash,
                        hold_ms: stimulus.exposure_ms / speed,
                        part: Part::Flash,
                    },
                    Shown {
                        picture: 0,
                        hold_ms: settings.neutral_after_ms / speed,
                        part: Part::After,
                    },
                ];
            }
            FlashShape::Envelope => {
                let onset_s = settings.neutral_before_ms / 1000.0;
                let offset_s = onset_s + stimulus.exposure_ms / 1000.0;
                let envelope = Envelope::new(onset_s, offset_s);
                let total_frames = ((settings.neutral_before_ms
                    + stimulus.exposure_ms
                    + settings.neutral_after_ms)
                    / 1000.0
                    * settings.fps)
                    .round() as usize;
                let hold_ms = 1000.0 / settings.fps / speed;
                for index in 0..total_frames {
                    let t_s = index as f64 / settings.fps;
                    let (part, weight) = if t_s < onset_s {
                        (Part::Before, 0.0)
                    } else if t_s <= offset_s {
                        (Part::Flash, envelope.weight(t_s))
                    } else {
                        (Part::After, 0.0)
                    };
                    let picture = match &spec {
                        Some(spec) if weight > 0.0 => {
                            rendered.pictures.push(self.picture(Some(spec), weight));
                            rendered.pictures.len() - 1
                        }
                        _ => 0,
                    };
                    rendered.timeline.push(Shown {
                        picture,
                        hold_ms,
                        part,
                    });
                }
            }
        }
        Ok(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microcue_core::Side;
    use microcue_vision::source::Mp4Source;
    use microcue_vision::warp::INJECTABLE_CUES;

    /// Pixels whose largest channel difference is at least `levels`.
    fn changed_pixels(a: &Frame, b: &Frame, levels: u8) -> usize {
        a.rgb
            .chunks(3)
            .zip(b.rgb.chunks(3))
            .filter(|(p, q)| p.iter().zip(*q).map(|(x, y)| x.abs_diff(*y)).max() >= Some(levels))
            .count()
    }

    fn bundled_face() -> NeutralFace {
        let mut source =
            Mp4Source::from_bytes("bundled", BUNDLED_CLIP.to_vec()).expect("bundled clip");
        NeutralFace::find(&mut source, 0.0, "bundled").expect("a face at the start")
    }

    /// At terminal size (80 px wide) and the drill's intensity every cue must visibly change
    /// the picture: at least 24 pixels by at least 16 levels in a channel. (Measured on the
    /// bundled face: brows and surprise ~370 pixels, lip compression ~110, smiles and nose
    /// 47-72, one mouth corner 29 — the subtlest flash of the drill.)
    #[test]
    fn every_drill_cue_is_visible_at_terminal_size() {
        let face = bundled_face();
        let settings = RenderSettings {
            shape: FlashShape::Apex,
            fps: 30.0,
            neutral_before_ms: 500.0,
            neutral_after_ms: 500.0,
        };
        let mut renderer = WarpRenderer::face_view(&face, 80, settings).expect("view");
        let (width, height) = renderer.picture_size();
        assert_eq!(width, 80);
        assert_eq!(height % 2, 0);
        for cue in INJECTABLE_CUES {
            let side = if cue.is_one_sided() {
                Side::Left
            } else {
                Side::Both
            };
            let stimulus = Stimulus {
                cue: Some(cue),
                side,
                exposure_ms: 100.0,
                intensity: DRILL_INTENSITY,
                source: "bundled".into(),
                playback_speed: 1.0,
            };
            let rendered = renderer.render(&stimulus).expect("renders");
            assert_eq!(rendered.pictures.len(), 2);
            let (neutral, apex) = (&rendered.pictures[0], rendered.apex_picture());
            let changed = changed_pixels(neutral, apex, 24);
            let changed16 = changed_pixels(neutral, apex, 16);
            eprintln!("{cue}: {changed} pixels changed by >= 24 levels, {changed16} by >= 16");
            assert!(
                changed16 >= 24,
                "{cue}: only {changed16} pixels changed by 16 grey levels or more"
            );
        }
        let catch = Stimulus {
            cue: None,
            side: Side::Both,
            exposure_ms: 100.0,
            intensity: 1.0,
            source: "bundled".into(),
            playback_speed: 1.0,
        };
        let rendered = renderer.render(&catch).expect("renders");
        assert_eq!(
            rendered.pictures.len(),
            1,
            "a catch trial is the neutral face only"
        );
        assert_eq!(rendered.timeline.len(), 3);
    }
}
