//! The lexicon of twelve cues and the guide's playbook, as data.
//!
//! Everything here comes from the source guide (`tests/data/guide.txt`): the cue
//! list and meanings (§3), the real-time pipeline (§4), the response lines (§5), the scripts and
//! repair lines (§8), the cultural and individual cautions (§9), the ethical rules (§10), the
//! two-cue rule (§11) and the cheat sheet (§13). Quotes from the guide are kept verbatim.
//! FACS codes and MediaPipe blendshape signatures are the project's mapping (DESIGN.md).
//!
//! The data is `'static` and allocation-free; with the `serde` feature every type serialises to
//! JSON (what `microcue lexicon --json` prints).
//!
//! ```
//! use microcue_core::{CueId, lexicon};
//! let flash = lexicon::entry(CueId::EyebrowFlash);
//! assert_eq!(flash.facs, "AU1+AU2");
//! assert!(flash.lines.contains(&"Oh — curious? Tell me more."));
//! assert_eq!(lexicon::lexicon().len(), 12);
//! ```

#[cfg(feature = "serde")]
use serde::Serialize;

use crate::cue::{CueId, ResponseFamily, Valence};

/// Where on the face (or in the gaze) a cue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum CueRegion {
    Brows,
    Eyes,
    Mouth,
    Nose,
    Gaze,
}

impl CueRegion {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            CueRegion::Brows => "brows",
            CueRegion::Eyes => "eyes",
            CueRegion::Mouth => "mouth",
            CueRegion::Nose => "nose",
            CueRegion::Gaze => "gaze",
        }
    }
}

/// The MediaPipe blendshape signature of a cue.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Signature {
    /// Blendshapes that must move (MediaPipe names, `...Left` = the subject's left).
    pub required: &'static [&'static str],
    /// Blendshapes that add confidence when they move too.
    pub supporting: &'static [&'static str],
    /// Blendshapes whose movement argues *against* this cue (it would be another cue).
    pub absent: &'static [&'static str],
    /// Signals that are not blendshapes (head pose, region motion, iris position).
    pub derived: &'static [&'static str],
    /// How the channels combine, in words.
    pub pattern: &'static str,
}

/// One of the guide's scripts (§8), with its lines verbatim.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Script {
    /// `A`, `B` or `C`, as in the guide.
    pub id: &'static str,
    /// Where and what was seen.
    pub setting: &'static str,
    /// The moves, in order; spoken words in quotes.
    pub steps: &'static [&'static str],
    /// What the script is for.
    pub goal: &'static str,
}

/// One cue of the lexicon.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct CueEntry {
    /// Stable id (`genuine_smile`, ...).
    pub id: CueId,
    /// Human name.
    pub name: &'static str,
    /// What the movement looks like (short, fits a table column).
    pub looks_like: &'static str,
    /// What it often means (guide §3, verbatim). A hypothesis, never a verdict.
    pub meaning: &'static str,
    /// FACS action units.
    pub facs: &'static str,
    /// MediaPipe blendshape signature.
    pub signature: Signature,
    /// Where to look, the main region first.
    pub regions: &'static [CueRegion],
    /// Usual valence (same as [`CueId::valence`]).
    pub valence: Valence,
    /// Valence in words, with its usual flavour.
    pub valence_note: &'static str,
    /// Response family (same as [`CueId::response_family`]); `None` for unsupported cues.
    pub family: Option<ResponseFamily>,
    /// A second family that context may call for instead (one-sided lip corner: lighten).
    pub alternative_family: Option<ResponseFamily>,
    /// The guide's response advice for this cue (§5, verbatim where the guide has it).
    pub response: &'static str,
    /// Lines to say (§5, verbatim quotes).
    pub lines: &'static [&'static str],
    /// Where the lines come from when the guide has none of this cue's own.
    pub lines_note: Option<&'static str>,
    /// Scripts of §8 that fit this cue.
    pub scripts: &'static [Script],
    /// What to watch for in the 5–15 s after responding.
    pub watch_next: &'static str,
    /// Limits of this cue's reading: culture, baseline, lighting, frame rate, model limits.
    pub reliability: &'static [&'static str],
    /// Whether microcue can measure the cue from ordinary video.
    pub supported: bool,
}

/// One stage of the guide's real-time pipeline (§4), timed from the moment of the movement.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct PipelineStage {
    /// Stage name.
    pub name: &'static str,
    /// Start of the stage, seconds after the movement.
    pub start_s: f64,
    /// End of the stage, seconds after the movement.
    pub end_s: f64,
    /// What to do (verbatim).
    pub what: &'static str,
}

/// The guide's quick cheat sheet (§13).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct CheatSheet {
    /// The five steps.
    pub steps: &'static [&'static str],
    /// The one-line example.
    pub example: &'static str,
}

/// One of the guide's non-negotiable ethical rules (§10).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct EthicsRule {
    /// Rule number, 1–5.
    pub number: u8,
    /// Short title.
    pub title: &'static str,
    /// The rule (verbatim).
    pub text: &'static str,
}

/// One general limit of micro-expression reading, shown wherever results are shown.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Limit {
    /// Short topic (`culture`, `baseline`, ...).
    pub topic: &'static str,
    /// The limit in one or two sentences.
    pub text: &'static str,
}

/// Everything of the guide's playbook in one value (lexicon, pipeline, repair lines, cheat
/// sheet, ethics, limits).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Playbook {
    pub cues: &'static [CueEntry],
    pub pipeline: &'static [PipelineStage],
    pub response_families: &'static [FamilyEntry],
    pub repair_lines: &'static [&'static str],
    pub two_cue_rule: &'static str,
    pub cheat_sheet: CheatSheet,
    pub ethics: &'static [EthicsRule],
    pub limits: &'static [Limit],
}

/// What one response family means.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct FamilyEntry {
    pub family: ResponseFamily,
    /// The move, in a few words.
    pub action: &'static str,
}

/// All twelve cues, in [`CueId::ALL`] order.
pub fn lexicon() -> &'static [CueEntry] {
    &LEXICON
}

/// The entry of one cue.
pub fn entry(cue: CueId) -> &'static CueEntry {
    // LEXICON is in CueId::ALL order, which is the enum's declaration order (tested).
    &LEXICON[cue as usize]
}

/// The whole playbook.
pub fn playbook() -> &'static Playbook {
    &PLAYBOOK
}

/// What a response family does, in a few words.
pub fn family_action(family: ResponseFamily) -> &'static str {
    RESPONSE_FAMILIES
        .iter()
        .find(|f| f.family == family)
        .map_or("", |f| f.action)
}

/// Lowercase name of a response family.
pub fn family_name(family: ResponseFamily) -> &'static str {
    match family {
        ResponseFamily::Mirror => "mirror",
        ResponseFamily::Lighten => "lighten",
        ResponseFamily::Invite => "invite",
        ResponseFamily::Soften => "soften",
        ResponseFamily::Clarify => "clarify",
        ResponseFamily::Amplify => "amplify",
        ResponseFamily::Repair => "repair",
    }
}

/// Lowercase name of a valence.
pub fn valence_name(valence: Valence) -> &'static str {
    match valence {
        Valence::Positive => "positive",
        Valence::Neutral => "neutral",
        Valence::Negative => "negative",
        Valence::Ambiguous => "ambiguous",
        Valence::Unknown => "unknown",
    }
}

/// The guide's real-time pipeline (§4): spot 0–0.5 s, contextualise 0.5–2 s, hypothesis 2–3 s,
/// respond 3–5 s, observe 5–15 s.
pub const PIPELINE: [PipelineStage; 5] = [
    PipelineStage {
        name: "spot",
        start_s: 0.0,
        end_s: 0.5,
        what: "micro-movement — note location (eyes, mouth, brows).",
    },
    PipelineStage {
        name: "contextualize",
        start_s: 0.5,
        end_s: 2.0,
        what: "what was said/what happened just before? (joke, question, touch)",
    },
    PipelineStage {
        name: "hypothesis",
        start_s: 2.0,
        end_s: 3.0,
        what: "quick guess — positive / neutral / negative.",
    },
    PipelineStage {
        name: "respond",
        start_s: 3.0,
        end_s: 5.0,
        what: "choose a micro-response: mirror, soften, repair, or escalate.",
    },
    PipelineStage {
        name: "observe",
        start_s: 5.0,
        end_s: 15.0,
        what: "did their face relax / match / withdraw? update internal baseline.",
    },
];

/// Repair lines for a misread (§8, verbatim).
pub const REPAIR_LINES: [&str; 2] = [
    "Oops — I think I read that wrong. My mistake.",
    "That came out wrong — sorry. I was trying to say [one sentence].",
];

/// The rule against over-reading (§11, with DESIGN.md's reading of it).
pub const TWO_CUE_RULE: &str = "A single cue is never a verdict. Require 2 supporting cues \
     (tone + micro-expression) before acting: two cues that agree, or a cue plus what was said, \
     the tone or the situation. One cue alone means: watch.";

/// The quick cheat sheet (§13, verbatim).
pub const CHEAT_SHEET: CheatSheet = CheatSheet {
    steps: &[
        "Scan face (eyes → brows → mouth) in first 0.5s after their micro-movement.",
        "Contextualize with words/tone.",
        "Hypothesize (positive/neutral/negative).",
        "Act: mirror warmth / soften / clarify / offer opt-out.",
        "Observe outcome & update baseline.",
    ],
    example: "see quick eye-crinkle → smile back + “That was a good point.” → pause → propose \
              low-cost next step.",
};

/// The non-negotiable ethical rules (§10, verbatim).
pub const ETHICS: [EthicsRule; 5] = [
    EthicsRule {
        number: 1,
        title: "Consent & benefit",
        text: "use micro-reading to improve comfort and clarity, not to trick or manipulate.",
    },
    EthicsRule {
        number: 2,
        title: "Don’t weaponize vulnerability",
        text: "never exploit emotional leaks for coercion.",
    },
    EthicsRule {
        number: 3,
        title: "Be humble",
        text: "always allow for error and repair quickly.",
    },
    EthicsRule {
        number: 4,
        title: "Privacy respect",
        text: "don’t broadcast or shame someone’s micro-reaction (no screenshots/posts).",
    },
    EthicsRule {
        number: 5,
        title: "No medical claims",
        text: "you’re not diagnosing mental illness.",
    },
];

/// General limits, stated wherever results are shown (§9 and the measurement limits).
pub const LIMITS: [Limit; 7] = [
    Limit {
        topic: "not a lie detector",
        text: "A micro-expression shows that a feeling flickered, not why, and not whether \
               someone is lying. Outputs are hypotheses with a confidence, never verdicts; no \
               diagnosis.",
    },
    Limit {
        topic: "culture",
        text: "Some cultures mask emotions more; micro-expressions still appear but patterns \
               differ (eyes vs mouth emphasis). Learn local norms.",
    },
    Limit {
        topic: "baseline",
        text: "Everyone has an idiosyncratic resting face. Movements are measured against the \
               person's own baseline, which needs time (and 1–3 interactions for a human) to \
               form.",
    },
    Limit {
        topic: "lighting & angle",
        text: "Poor light, a turned head or an obstructed face (mask, hair, glasses, hand) \
               reduces reliability — don't assume.",
    },
    Limit {
        topic: "frame rate",
        text: "A 40–200 ms micro-expression spans only 1–6 frames of a 30 fps camera; the \
               briefest ones can be missed or merged. Higher frame rates help.",
    },
    Limit {
        topic: "model",
        text: "The blendshape model sees the surface of the face, not muscles: its eye-crinkle \
               channel (cheekSquint) stays near 0 on real smiles, jaw clench and pupil size are \
               invisible to it.",
    },
    Limit {
        topic: "pupil size",
        text: "Pupil dilation is not measurable from ordinary video: it is listed, reported as \
               unsupported and never guessed.",
    },
];

/// What each response family does (§5, §13).
pub const RESPONSE_FAMILIES: [FamilyEntry; 7] = [
    FamilyEntry {
        family: ResponseFamily::Mirror,
        action: "mirror warmth: soft smile back + tiny compliment or open question",
    },
    FamilyEntry {
        family: ResponseFamily::Lighten,
        action: "keep it light, don't push; give a low-cost option",
    },
    FamilyEntry {
        family: ResponseFamily::Invite,
        action: "pause slightly, ask a minimal invitation to say more",
    },
    FamilyEntry {
        family: ResponseFamily::Soften,
        action: "drop intensity, soften tone, offer an opt-out",
    },
    FamilyEntry {
        family: ResponseFamily::Clarify,
        action: "clarify quickly with a short restatement",
    },
    FamilyEntry {
        family: ResponseFamily::Amplify,
        action: "lightly amplify their curiosity",
    },
    FamilyEntry {
        family: ResponseFamily::Repair,
        action: "back off, apologise if needed, repair",
    },
];

/// Scenario A of §8.
pub const SCRIPT_A: Script = Script {
    id: "A",
    setting: "hallway, a guarded person, quick smile microflash",
    steps: &[
        "You (soft): “I liked that way you explained the idea.” (pause — observe)",
        "If micro-smile returns → “Coffee to continue that 10 min?” (A/B close)",
    ],
    goal: "a low-cost next step, offered only after a second positive signal",
};

/// Scenario B of §8.
pub const SCRIPT_B: Script = Script {
    id: "B",
    setting: "texting, short reply then tiny emoji (micro-yes)",
    steps: &["You: “That emoji made me smile — tell me one fun thing you did today.”"],
    goal: "invite small story.",
};

/// Scenario C of §8.
pub const SCRIPT_C: Script = Script {
    id: "C",
    setting: "voice note response, slight eyebrow flash on call (interest)",
    steps: &[
        "You: “I noticed you reacted there — curious to hear more.”",
        "Ask one open question.",
    ],
    goal: "signal that you noticed and invite talk",
};

const SOFTEN_LINE: &str = "Sorry — did that come off weird? I can rephrase.";
const REPAIR_LINE: &str = "My bad — I didn’t mean that.";
const LIGHTEN_LINE: &str = "No pressure — we can keep it casual.";

const FRAME_RATE_NOTE: &str = "At 30 fps a 40–200 ms flash spans 1–6 frames; the briefest can be \
                               missed.";

static LEXICON: [CueEntry; 12] = [
    CueEntry {
        id: CueId::GenuineSmile,
        name: "Genuine (Duchenne) smile",
        looks_like: "mouth corners up + eye crinkle",
        meaning: "genuine positive interest / warmth.",
        facs: "AU6+AU12",
        signature: Signature {
            required: &[
                "mouthSmileLeft",
                "mouthSmileRight",
                "eyeSquintLeft",
                "eyeSquintRight",
            ],
            supporting: &["cheekSquintLeft", "cheekSquintRight"],
            absent: &[],
            derived: &["region motion under the eyes (lower lid / cheek raise)"],
            pattern: "both mouth corners rise AND the eyes crinkle (eyeSquint or lower-lid \
                      motion); the crinkle is what separates it from a polite smile",
        },
        regions: &[CueRegion::Mouth, CueRegion::Eyes],
        valence: Valence::Positive,
        valence_note: "positive (warmth, interest)",
        family: Some(ResponseFamily::Mirror),
        alternative_family: None,
        response: "soft smile back + tiny compliment or open question.",
        lines: &["that was a good point", "Haha — that made me smile too."],
        lines_note: Some(
            "in person: smile + the first line (0.5–2s); text/voice: mirror tone with the second",
        ),
        scripts: &[SCRIPT_A, SCRIPT_B],
        watch_next: "a smile back or a longer, warmer reply (matched); if instead they glance \
                     away or press their lips, ease off",
        reliability: &[
            "MediaPipe's cheekSquint stays near 0 on real smiles (MediaPipe issues #4436, \
             #4450; measured <= 5e-6 on a 2500-frame clip whose smiles reach mouthSmile 0.93): \
             the eye crinkle (AU6) is read from eyeSquint and the motion under the eyes instead, \
             so genuine vs polite is the least certain distinction in the lexicon.",
            "Glasses, a lowered head and dim light hide the eye crinkle.",
            "Smiles while talking or laughing are ordinary expressions, not micro-expressions.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::PoliteSmile,
        name: "Polite smile",
        looks_like: "mouth-only smile, no eye crinkle",
        meaning: "cordiality / neutral politeness.",
        facs: "AU12",
        signature: Signature {
            required: &["mouthSmileLeft", "mouthSmileRight"],
            supporting: &[],
            absent: &[
                "eyeSquintLeft",
                "eyeSquintRight",
                "cheekSquintLeft",
                "cheekSquintRight",
            ],
            derived: &[],
            pattern: "both mouth corners rise while the eyes stay as they were",
        },
        regions: &[CueRegion::Mouth],
        valence: Valence::Neutral,
        valence_note: "neutral (cordiality)",
        family: Some(ResponseFamily::Lighten),
        alternative_family: None,
        response: "keep it light, don’t push intimacy. Give low-cost option.",
        lines: &[LIGHTEN_LINE],
        lines_note: None,
        scripts: &[],
        watch_next: "whether a real (eye-crinkle) smile follows once the pressure is off; a \
                     second polite smile means keep it casual",
        reliability: &[
            "Called polite when no eye crinkle is measured: poor light, glasses or a lowered \
             head can hide the crinkle, so some genuine smiles read as polite.",
            "Mislabeling polite vs genuine is a named pitfall (§11): watch for the eye crinkle \
             (Duchenne) as key genuine sign.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::EyebrowFlash,
        name: "Eyebrow flash",
        looks_like: "quick raise of both brows (~0.1–0.2 s)",
        meaning: "recognition, brief interest, invitation to speak.",
        facs: "AU1+AU2",
        signature: Signature {
            required: &["browInnerUp", "browOuterUpLeft", "browOuterUpRight"],
            supporting: &[],
            absent: &["eyeWideLeft", "eyeWideRight"],
            derived: &[],
            pattern: "inner and outer brows rise together and drop back quickly; with widened \
                      eyes it is micro_surprise instead",
        },
        regions: &[CueRegion::Brows],
        valence: Valence::Positive,
        valence_note: "positive (interest, recognition)",
        family: Some(ResponseFamily::Invite),
        alternative_family: None,
        response: "pause slightly, ask a minimal invitation. Signals you noticed and invite talk.",
        lines: &["Oh — curious? Tell me more."],
        lines_note: None,
        scripts: &[SCRIPT_C],
        watch_next: "whether they take the invitation and say more (matched), or go quiet and \
                     look away",
        reliability: &[
            "Brows also rise to stress words while speaking; a flash during their own speech is \
             often emphasis, not interest.",
            "A fringe, hair or glasses frames can hide the brows.",
            FRAME_RATE_NOTE,
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::LipCompression,
        name: "Lip compression",
        looks_like: "lips pressed briefly",
        meaning: "tension, holding back, mild discomfort.",
        facs: "AU24 (+AU23)",
        signature: Signature {
            required: &["mouthPressLeft", "mouthPressRight"],
            supporting: &["mouthRollUpper", "mouthRollLower"],
            absent: &[],
            derived: &[],
            pattern: "both sides of the lips press (and may roll in) briefly, then release",
        },
        regions: &[CueRegion::Mouth],
        valence: Valence::Negative,
        valence_note: "negative (tension, holding back)",
        family: Some(ResponseFamily::Soften),
        alternative_family: None,
        response: "immediately drop intensity — soften tone. Offer opt-out.",
        lines: &[SOFTEN_LINE],
        lines_note: None,
        scripts: &[],
        watch_next: "lips and brows loosening (relaxed); more pressing, glancing away or \
                     turning away means give more space",
        reliability: &[
            "Lips also press between words, when swallowing or when thinking; a press during \
             speech is weaker evidence.",
            "OpenFace 2.x estimates no AU24 intensity: imported CSVs read lip compression from \
             AU23 (lip tightener) only.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::UnilateralLipCorner,
        name: "One-sided lip corner pull",
        looks_like: "one mouth corner pulled",
        meaning: "contempt or coyness depending on context.",
        facs: "unilateral AU12/AU14",
        signature: Signature {
            required: &["mouthSmileLeft", "mouthSmileRight"],
            supporting: &["mouthDimpleLeft", "mouthDimpleRight"],
            absent: &[],
            derived: &[],
            pattern: "one side's mouthSmile / mouthDimple rises clearly more than the other's \
                      (left/right asymmetry over the person's own baseline)",
        },
        regions: &[CueRegion::Mouth],
        valence: Valence::Ambiguous,
        valence_note: "negative (contempt) or coy — context decides",
        family: Some(ResponseFamily::Repair),
        alternative_family: Some(ResponseFamily::Lighten),
        response: "if it reads as contempt: back off, apologize if needed, repair; if it reads \
                   as coy or playful: keep it light. Context decides.",
        lines: &[REPAIR_LINE, LIGHTEN_LINE],
        lines_note: Some("first line if it read as contempt, second if it was coy"),
        scripts: &[],
        watch_next: "after a repair: softening or a real smile; after lightening: a playful \
                     reply. A second one-sided pull with a turned head means back off",
        reliability: &[
            "A turned head makes one mouth corner look larger (perspective); many faces are \
             asymmetric at rest, so the person's own baseline matters most.",
            "OpenFace action units are bilateral: this cue cannot be read from an OpenFace CSV.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::NoseWrinkle,
        name: "Nose wrinkle / upper lip raise",
        looks_like: "nose wrinkle / upper lip raise",
        meaning: "disgust / aversion.",
        facs: "AU9 / AU10",
        signature: Signature {
            required: &["noseSneerLeft", "noseSneerRight"],
            supporting: &["mouthUpperUpLeft", "mouthUpperUpRight"],
            absent: &[],
            derived: &[],
            pattern: "the nose wrinkles (noseSneer) and/or the upper lip rises (mouthUpperUp)",
        },
        regions: &[CueRegion::Nose, CueRegion::Mouth],
        valence: Valence::Negative,
        valence_note: "negative (disgust, aversion)",
        family: Some(ResponseFamily::Soften),
        alternative_family: None,
        response: "soften / back off: drop intensity, offer an opt-out.",
        lines: &[SOFTEN_LINE],
        lines_note: Some(
            "the guide gives no line of its own for this cue; this is its soften line",
        ),
        scripts: &[],
        watch_next: "whether the face settles once the topic changes; aversion may be to the \
                     topic, not to you",
        reliability: &[
            "Also appears with smells, before a sneeze, when squinting into light and in some \
             laughs.",
            "The aversion may be about the topic or a memory, not the listener.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::BlinkCluster,
        name: "Rapid blink cluster",
        looks_like: "rapid blinks, well above the person's rate",
        meaning: "stress, overload, or disagreeing but polite.",
        facs: "AU45 repeated",
        signature: Signature {
            required: &["eyeBlinkLeft", "eyeBlinkRight"],
            supporting: &[],
            absent: &[],
            derived: &["blink rate over ~2 s vs the person's baseline rate"],
            pattern: "3 or more blinks within ~2 s, well above the person's own blink rate; a \
                      single blink is never an event",
        },
        regions: &[CueRegion::Eyes],
        valence: Valence::Negative,
        valence_note: "negative (stress, overload)",
        family: Some(ResponseFamily::Soften),
        alternative_family: None,
        response: "immediately drop intensity — soften tone. Offer opt-out.",
        lines: &[SOFTEN_LINE],
        lines_note: None,
        scripts: &[],
        watch_next: "the blink rate falling back to their normal (relaxed)",
        reliability: &[
            "Blink rates differ a lot between people and rise with dry eyes, contact lenses, \
             screens, bright light and talking: only the person's own baseline rate makes a \
             cluster meaningful.",
            "At 30 fps a 100–150 ms blink spans 3–5 frames; two quick blinks can merge.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::GazeAversion,
        name: "Gaze aversion",
        looks_like: "quick glance away",
        meaning: "discomfort, avoidance, or thinking.",
        facs: "AU61–64, head turn",
        signature: Signature {
            required: &[
                "eyeLookOutLeft",
                "eyeLookOutRight",
                "eyeLookInLeft",
                "eyeLookInRight",
                "eyeLookUpLeft",
                "eyeLookUpRight",
                "eyeLookDownLeft",
                "eyeLookDownRight",
            ],
            supporting: &[],
            absent: &[],
            derived: &["iris position", "head yaw"],
            pattern: "the gaze (eyes or head) leaves its baseline direction and comes back \
                      within ~0.2–1.5 s",
        },
        regions: &[CueRegion::Gaze, CueRegion::Eyes],
        valence: Valence::Ambiguous,
        valence_note: "negative (discomfort) or thinking",
        family: Some(ResponseFamily::Soften),
        alternative_family: None,
        response: "give space — pause, lower the intensity, don't chase their eyes.",
        lines: &[],
        lines_note: Some(
            "the guide gives no words here: give space; if it repeats with other tension cues, \
             use the soften line",
        ),
        scripts: &[],
        watch_next: "their eyes coming back with a settled face (relaxed, they were thinking) \
                     or repeated glances away (withdrew)",
        reliability: &[
            "People look away to think, remember or plan a sentence: gaze aversion is the cue \
             most often about thinking rather than feeling.",
            "Eye-contact norms differ between cultures and people (sustained contact can be \
             rude; some neurodivergent people avoid it at baseline).",
            "Gaze estimates degrade when the head is turned beyond ~30° or the eyes are in \
             shadow.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::PupilDilation,
        name: "Pupil dilation",
        looks_like: "dilated pupils",
        meaning: "arousal/interest (use cautiously).",
        facs: "—",
        signature: Signature {
            required: &[],
            supporting: &[],
            absent: &[],
            derived: &[],
            pattern: "not measurable from ordinary video",
        },
        regions: &[CueRegion::Eyes],
        valence: Valence::Unknown,
        valence_note: "not assessed",
        family: None,
        alternative_family: None,
        response: "reported as unsupported, never guessed.",
        lines: &[],
        lines_note: None,
        scripts: &[],
        watch_next: "nothing: microcue does not measure pupils",
        reliability: &[
            "Pupil size follows light level far more than feeling; measuring it needs \
             controlled light, an eye tracker or infrared camera and a per-person baseline \
             (hard to see without good light, as the guide says).",
            "microcue lists this cue and never emits it.",
        ],
        supported: false,
    },
    CueEntry {
        id: CueId::MicroFrown,
        name: "Micro-frown",
        looks_like: "inner brows knit",
        meaning: "confusion / mild negative affect.",
        facs: "AU4",
        signature: Signature {
            required: &["browDownLeft", "browDownRight"],
            supporting: &[],
            absent: &["mouthPressLeft", "mouthPressRight"],
            derived: &[],
            pattern: "the brows lower and draw together briefly; with pressed lips it reads as \
                      micro_anger",
        },
        regions: &[CueRegion::Brows],
        valence: Valence::Negative,
        valence_note: "negative (confusion)",
        family: Some(ResponseFamily::Clarify),
        alternative_family: None,
        response: "clarify quickly: “What I meant was…” keep sentences short.",
        lines: &["What I meant was…"],
        lines_note: None,
        scripts: &[],
        watch_next: "the brows smoothing out and a nod or answer (relaxed); a second frown \
                     means restate more simply",
        reliability: &[
            "Brows also lower with concentration, effort, bright light or a hard-to-read \
             screen: a frown while listening hard can be effort, not displeasure.",
            FRAME_RATE_NOTE,
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::MicroAnger,
        name: "Micro-anger",
        looks_like: "tight brow and jaw",
        meaning: "irritation / boundary.",
        facs: "AU4+AU5/7+AU23/24",
        signature: Signature {
            required: &[
                "browDownLeft",
                "browDownRight",
                "mouthPressLeft",
                "mouthPressRight",
            ],
            supporting: &[
                "eyeSquintLeft",
                "eyeSquintRight",
                "eyeWideLeft",
                "eyeWideRight",
            ],
            absent: &[],
            derived: &[],
            pattern: "brows lower together with pressed lips, often with tightened (squint) or \
                      glaring (wide) eyes",
        },
        regions: &[CueRegion::Brows, CueRegion::Mouth, CueRegion::Eyes],
        valence: Valence::Negative,
        valence_note: "negative (irritation, a boundary)",
        family: Some(ResponseFamily::Repair),
        alternative_family: None,
        response: "back off, apologize if needed, repair.",
        lines: &[REPAIR_LINE],
        lines_note: None,
        scripts: &[],
        watch_next: "the brow and lips releasing (relaxed); if the tension stays or they turn \
                     away, give space and don't push the point",
        reliability: &[
            "A clenched jaw is invisible to the blendshape model; the reading rests on brows, \
             eyes and lips.",
            "Concentration plus a pressed mouth can look the same; irritation may be about \
             something else entirely.",
            "In video analysis the lips must be seen pressing (the upper lip moving down) with \
             the frown: the press blendshapes alone also rise in speech and smiles.",
        ],
        supported: true,
    },
    CueEntry {
        id: CueId::MicroSurprise,
        name: "Micro-surprise",
        looks_like: "brows up + eyes open briefly",
        meaning: "genuine surprise/curiosity.",
        facs: "AU1+AU2+AU5 (+AU26)",
        signature: Signature {
            required: &[
                "browInnerUp",
                "browOuterUpLeft",
                "browOuterUpRight",
                "eyeWideLeft",
                "eyeWideRight",
            ],
            supporting: &["jawOpen"],
            absent: &[],
            derived: &[],
            pattern: "brows rise and the eyes widen together (the jaw may drop); without the \
                      wide eyes it is an eyebrow flash",
        },
        regions: &[CueRegion::Brows, CueRegion::Eyes],
        valence: Valence::Positive,
        valence_note: "positive (curiosity)",
        family: Some(ResponseFamily::Amplify),
        alternative_family: None,
        response: "lightly amplify curiosity: “Really? Tell me that.” or plant future anchor.",
        lines: &["Really? Tell me that."],
        lines_note: None,
        scripts: &[],
        watch_next: "a smile or an eager answer (matched); surprise can also turn negative — \
                     watch what the face does next",
        reliability: &[
            "Fear shares the raised brows and wide eyes (plus a stretched mouth): the \
             expression that follows the surprise tells which it was.",
            FRAME_RATE_NOTE,
        ],
        supported: true,
    },
];

static PLAYBOOK: Playbook = Playbook {
    cues: &LEXICON,
    pipeline: &PIPELINE,
    response_families: &RESPONSE_FAMILIES,
    repair_lines: &REPAIR_LINES,
    two_cue_rule: TWO_CUE_RULE,
    cheat_sheet: CHEAT_SHEET,
    ethics: &ETHICS,
    limits: &LIMITS,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::BlendshapeIndex;

    #[test]
    fn lexicon_is_in_cue_order_and_entry_finds_each_cue() {
        assert_eq!(lexicon().len(), 12);
        for (index, cue) in CueId::ALL.into_iter().enumerate() {
            assert_eq!(lexicon()[index].id, cue);
            assert_eq!(entry(cue).id, cue);
        }
    }

    #[test]
    fn entries_agree_with_cue_methods() {
        for e in lexicon() {
            assert_eq!(e.valence, e.id.valence(), "{}", e.id);
            assert_eq!(e.family, e.id.response_family(), "{}", e.id);
            assert_eq!(e.supported, e.id.is_supported(), "{}", e.id);
            assert!(!e.reliability.is_empty(), "{} needs its limits", e.id);
            assert!(!e.regions.is_empty(), "{}", e.id);
        }
        assert!(!entry(CueId::PupilDilation).supported);
        assert!(entry(CueId::PupilDilation).lines.is_empty());
    }

    #[test]
    fn signature_names_are_mediapipe_blendshapes() {
        for e in lexicon() {
            let s = &e.signature;
            for name in s.required.iter().chain(s.supporting).chain(s.absent) {
                assert!(
                    BlendshapeIndex::from_name(name).is_some(),
                    "{}: `{name}` is not a MediaPipe blendshape",
                    e.id
                );
            }
            if e.supported {
                assert!(!s.required.is_empty(), "{} has no required channel", e.id);
            }
        }
    }

    /// Guards "verbatim": every quoted line must appear in the guide as written.
    #[test]
    fn lines_and_rules_are_verbatim_from_the_guide() {
        let seed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/guide.txt");
        let seed = std::fs::read_to_string(seed_path).unwrap_or_else(|error| {
            panic!("the guide `{seed_path}` ships with the repository: {error}")
        });
        let seed = seed.as_str();
        for e in lexicon() {
            assert!(
                seed.contains(e.meaning),
                "{}: meaning `{}`",
                e.id,
                e.meaning
            );
            for line in e.lines {
                assert!(
                    seed.contains(line),
                    "{}: line `{line}` is not in the guide",
                    e.id
                );
            }
        }
        for line in REPAIR_LINES {
            // The guide writes the repair lines in quotes.
            assert!(seed.contains(&format!("“{line}”")), "repair line `{line}`");
        }
        for stage in PIPELINE {
            assert!(seed.contains(stage.what), "pipeline `{}`", stage.what);
        }
        for rule in ETHICS {
            assert!(seed.contains(rule.text), "ethics `{}`", rule.text);
        }
        for step in CHEAT_SHEET.steps {
            assert!(seed.contains(step), "cheat sheet `{step}`");
        }
        for script in [SCRIPT_A, SCRIPT_B, SCRIPT_C] {
            for step in script.steps {
                assert!(seed.contains(step), "script {} step `{step}`", script.id);
            }
        }
        assert!(seed.contains("require 2 supporting cues (tone + micro-expression) before acting"));
    }

    #[test]
    fn pipeline_is_contiguous_from_0_to_15_s() {
        assert_eq!(PIPELINE[0].start_s, 0.0);
        for pair in PIPELINE.windows(2) {
            assert_eq!(pair[0].end_s, pair[1].start_s);
        }
        assert_eq!(PIPELINE[4].end_s, 15.0);
        assert_eq!(PIPELINE[4].name, "observe");
    }

    #[test]
    fn every_family_has_an_action() {
        for e in lexicon() {
            if let Some(family) = e.family {
                assert!(!family_action(family).is_empty());
            }
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn lexicon_serialises_to_json_with_snake_case_ids() {
        let json = serde_json::to_value(lexicon()).expect("lexicon serialises");
        let cues = json.as_array().expect("an array");
        assert_eq!(cues.len(), 12);
        assert_eq!(cues[2]["id"], "eyebrow_flash");
        assert_eq!(cues[2]["family"], "invite");
        assert_eq!(cues[8]["supported"], false);
        assert_eq!(cues[8]["family"], serde_json::Value::Null);
        assert_eq!(cues[0]["signature"]["required"][0], "mouthSmileLeft");
        let playbook = serde_json::to_value(playbook()).expect("playbook serialises");
        assert_eq!(playbook["pipeline"][4]["end_s"], 15.0);
        assert_eq!(playbook["ethics"].as_array().map(Vec::len), Some(5));
    }
}
