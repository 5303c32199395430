//! Flash recognition drill after METT (Ekman's Micro Expression Training Tool).
//!
//! Phases: **pre-test** (no feedback) → **learn** (each cue's components, shown at apex and in
//! slow motion — data the UI shows) → **practice** (feedback after every answer) →
//! **post-test** (no feedback) → finished. Exposure adapts by a [`Staircase`] from 500 ms toward
//! 40 ms; each test starts at 500 ms so pre and post thresholds compare, practice continues
//! from where the pre-test ended. Catch trials show no flash and measure false alarms. The
//! drill is a pure state machine: the caller shows the stimuli, measures reaction times and
//! passes them in; the random order comes from a seed.
//!
//! ```
//! use microcue_train::flash::{FlashConfig, FlashDrill, FlashStep};
//! let mut drill = FlashDrill::new(FlashConfig::quick(), 7).unwrap();
//! loop {
//!     match drill.next_step() {
//!         FlashStep::Trial(trial) => {
//!             // Show trial.stimulus, wait for the answer; here: always answer the shown cue.
//!             drill.answer(trial.id, trial.stimulus.cue, 650.0).unwrap();
//!         }
//!         FlashStep::Learn(_cards) => drill.finish_learning().unwrap(),
//!         FlashStep::Finished => break,
//!     }
//! }
//! assert_eq!(drill.summary().accuracy, Some(1.0));
//! ```

use microcue_core::lexicon::{self, CueEntry};
use microcue_core::numeric::{EvenMedian, median};
use microcue_core::{CueId, Side};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::confusion::ConfusionMatrix;
use crate::dates::Date;
use crate::error::{Result, TrainError};
use crate::records::{DrillKind, TrialPhase, TrialRecord};
use crate::staircase::{Staircase, StaircaseConfig};
use crate::stimulus::Stimulus;

/// Settings of a flash drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlashConfig {
    /// Cues shown and offered as answers (besides "nothing").
    pub cues: Vec<CueId>,
    /// Trials in the pre-test (catch trials included); 0 skips it.
    pub pre_test_trials: u32,
    /// Whether to show the learn cards between pre-test and practice.
    pub learn: bool,
    /// Trials in the practice phase; 0 skips it.
    pub practice_trials: u32,
    /// Trials in the post-test; 0 skips it.
    pub post_test_trials: u32,
    /// Share of catch trials (no flash) in each phase, 0..0.5.
    pub catch_fraction: f64,
    /// Peak strength of the flashes, 0..1.
    pub intensity: f32,
    /// Faces or clips to render on (ids the renderer understands).
    pub sources: Vec<String>,
    /// The exposure staircase.
    pub staircase: StaircaseConfig,
}

impl Default for FlashConfig {
    /// A full session: 30 pre-test, learn, 40 practice, 30 post-test trials, 15 % catch trials.
    fn default() -> Self {
        FlashConfig {
            cues: CueId::ALL
                .into_iter()
                .filter(|c| c.is_supported())
                .collect(),
            pre_test_trials: 30,
            learn: true,
            practice_trials: 40,
            post_test_trials: 30,
            catch_fraction: 0.15,
            intensity: 0.6,
            sources: vec!["neutral".to_owned()],
            staircase: StaircaseConfig::default(),
        }
    }
}

impl FlashConfig {
    /// A short session (8 + learn + 8 + 8 trials), for demos and doc tests.
    pub fn quick() -> FlashConfig {
        FlashConfig {
            pre_test_trials: 8,
            practice_trials: 8,
            post_test_trials: 8,
            ..Default::default()
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| {
            Err(TrainError::Invalid {
                what: "flash drill settings",
                detail,
            })
        };
        if self.cues.is_empty() {
            return invalid("no cues to show".to_owned());
        }
        if let Some(cue) = self.cues.iter().find(|c| !c.is_supported()) {
            return invalid(format!("`{cue}` cannot be shown as a facial flash"));
        }
        if !(0.0..=0.5).contains(&self.catch_fraction) {
            return invalid(format!(
                "catch_fraction {} must be in [0, 0.5]",
                self.catch_fraction
            ));
        }
        if !(self.intensity > 0.0 && self.intensity <= 1.0) {
            return invalid(format!("intensity {} must be in (0, 1]", self.intensity));
        }
        if self.sources.is_empty() {
            return invalid("no source faces".to_owned());
        }
        self.staircase.validate()
    }
}

/// Where the drill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashPhase {
    PreTest,
    Learn,
    Practice,
    PostTest,
    Finished,
}

impl FlashPhase {
    fn trial_phase(self) -> Option<TrialPhase> {
        match self {
            FlashPhase::PreTest => Some(TrialPhase::PreTest),
            FlashPhase::Practice => Some(TrialPhase::Practice),
            FlashPhase::PostTest => Some(TrialPhase::PostTest),
            FlashPhase::Learn | FlashPhase::Finished => None,
        }
    }

    fn next(self) -> FlashPhase {
        match self {
            FlashPhase::PreTest => FlashPhase::Learn,
            FlashPhase::Learn => FlashPhase::Practice,
            FlashPhase::Practice => FlashPhase::PostTest,
            FlashPhase::PostTest | FlashPhase::Finished => FlashPhase::Finished,
        }
    }
}

/// One learn card: a cue's components and two ways to see it.
#[derive(Debug, Clone, Serialize)]
pub struct LearnCard {
    /// The lexicon entry (name, looks like, FACS, blendshape signature, regions, limits).
    pub entry: &'static CueEntry,
    /// The expression held at its apex (a still, 3 s).
    pub apex: Stimulus,
    /// A 400 ms flash played at quarter speed (1.6 s on screen).
    pub slow_motion: Stimulus,
}

/// One trial to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlashTrial {
    /// Id to pass back to [`FlashDrill::answer`].
    pub id: u32,
    /// The phase it belongs to.
    pub phase: TrialPhase,
    /// 1-based position in its phase, and the phase's length.
    pub number_in_phase: u32,
    pub trials_in_phase: u32,
    /// What to show (`stimulus.cue == None`: a catch trial, the neutral face only).
    pub stimulus: Stimulus,
    /// The answers to offer, besides "nothing".
    pub choices: Vec<CueId>,
    /// Whether feedback will be shown after the answer (practice only).
    pub gives_feedback: bool,
}

/// What the answer revealed (practice only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reveal {
    pub correct: bool,
    /// What was shown (`None` = nothing, a catch trial).
    pub shown: Option<CueId>,
    pub answered: Option<CueId>,
    pub exposure_ms: f64,
}

/// The drill's response to an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlashFeedback {
    pub trial_id: u32,
    /// Correctness and the truth, in practice only: METT gives no feedback during tests.
    pub reveal: Option<Reveal>,
    /// A line for the user.
    pub message: String,
    /// Whether this answer ended its phase.
    pub phase_finished: bool,
}

/// Results of one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseSummary {
    pub phase: TrialPhase,
    /// Answered trials (catch trials included).
    pub trials: u32,
    /// Non-catch trials and how many were right.
    pub flash_trials: u32,
    pub flash_correct: u32,
    /// `flash_correct / flash_trials`.
    pub accuracy: Option<f64>,
    /// Catch trials and how many drew a cue answer (false alarms).
    pub catch_trials: u32,
    pub false_alarms: u32,
    /// `false_alarms / catch_trials`.
    pub false_alarm_rate: Option<f64>,
    /// Staircase threshold (exposure for the target accuracy), ms.
    pub threshold_ms: Option<f64>,
    /// Exposure the staircase ended at, ms.
    pub final_exposure_ms: f64,
    /// Whether it ended at the shortest exposure (threshold at or below it).
    pub at_floor: bool,
    /// Median reaction time of the answers, ms.
    pub median_reaction_ms: Option<f64>,
}

/// Results of the whole drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlashSummary {
    pub phases: Vec<PhaseSummary>,
    /// Accuracy over the non-catch trials of the tests (pre + post), the KPI's "accuracy".
    pub accuracy: Option<f64>,
    /// False alarms over all catch trials.
    pub false_alarm_rate: Option<f64>,
    /// Median reaction time over all answers, ms.
    pub median_reaction_ms: Option<f64>,
    /// Shown (rows) against answered (columns), all phases.
    pub confusion: ConfusionMatrix,
}

#[derive(Debug, Clone)]
struct Answered {
    phase: TrialPhase,
    shown: Option<CueId>,
    answered: Option<CueId>,
    exposure_ms: f64,
    reaction_ms: f64,
}

/// The flash drill state machine.
#[derive(Debug, Clone)]
pub struct FlashDrill {
    config: FlashConfig,
    rng: ChaCha8Rng,
    phase: FlashPhase,
    /// Remaining targets of the current phase (popped from the back).
    schedule: Vec<Option<CueId>>,
    trials_in_phase: u32,
    number_in_phase: u32,
    staircase: Staircase,
    /// Finished staircases of earlier phases.
    finished: Vec<(TrialPhase, Staircase)>,
    pending: Option<FlashTrial>,
    next_id: u32,
    answers: Vec<Answered>,
}

/// What to do next.
#[derive(Debug, Clone)]
pub enum FlashStep {
    /// Show this trial and call [`FlashDrill::answer`].
    Trial(FlashTrial),
    /// Show these cards; call [`FlashDrill::finish_learning`] when the user is done.
    Learn(Vec<LearnCard>),
    /// The drill is over; see [`FlashDrill::summary`].
    Finished,
}

impl FlashDrill {
    /// A new drill; `seed` fixes the trial order, catch trials, sides and sources.
    pub fn new(config: FlashConfig, seed: u64) -> Result<FlashDrill> {
        config.validate()?;
        let staircase = Staircase::new(config.staircase.clone())?;
        let mut drill = FlashDrill {
            rng: ChaCha8Rng::seed_from_u64(seed),
            phase: FlashPhase::PreTest,
            schedule: Vec::new(),
            trials_in_phase: 0,
            number_in_phase: 0,
            staircase,
            finished: Vec::new(),
            pending: None,
            next_id: 1,
            answers: Vec::new(),
            config,
        };
        drill.enter(FlashPhase::PreTest);
        Ok(drill)
    }

    /// The current phase.
    pub fn phase(&self) -> FlashPhase {
        self.phase
    }

    /// The settings.
    pub fn config(&self) -> &FlashConfig {
        &self.config
    }

    /// The exposure the next trial will use, ms.
    pub fn current_exposure_ms(&self) -> f64 {
        self.staircase.exposure_ms()
    }

    /// Enters `phase`, skipping phases with nothing to do.
    fn enter(&mut self, mut phase: FlashPhase) {
        loop {
            let count = match phase {
                FlashPhase::PreTest => self.config.pre_test_trials,
                FlashPhase::Practice => self.config.practice_trials,
                FlashPhase::PostTest => self.config.post_test_trials,
                FlashPhase::Learn => u32::from(self.config.learn),
                FlashPhase::Finished => 1,
            };
            if count > 0 {
                break;
            }
            phase = phase.next();
        }
        self.phase = phase;
        let Some(trial_phase) = phase.trial_phase() else {
            return;
        };
        // Staircase: tests start fresh at the start exposure; practice continues from the
        // level the previous staircase reached.
        let fresh = match Staircase::new(self.config.staircase.clone()) {
            Ok(staircase) => staircase,
            Err(_) => self.staircase.clone(), // validated in `new`
        };
        let next = if trial_phase == TrialPhase::Practice {
            self.staircase.continue_at(self.staircase.exposure_ms())
        } else {
            fresh
        };
        self.staircase = next;
        self.trials_in_phase = match trial_phase {
            TrialPhase::PreTest => self.config.pre_test_trials,
            TrialPhase::Practice => self.config.practice_trials,
            _ => self.config.post_test_trials,
        };
        self.number_in_phase = 0;
        self.schedule = self.make_schedule(self.trials_in_phase);
    }

    /// Balanced targets for one phase: the catch share rounded, the cues dealt round-robin
    /// from shuffled decks, all shuffled.
    fn make_schedule(&mut self, trials: u32) -> Vec<Option<CueId>> {
        let catch_trials = (f64::from(trials) * self.config.catch_fraction).round() as u32;
        let mut schedule: Vec<Option<CueId>> = vec![None; catch_trials as usize];
        let mut deck: Vec<CueId> = Vec::new();
        while schedule.len() < trials as usize {
            if deck.is_empty() {
                deck = self.config.cues.clone();
                deck.shuffle(&mut self.rng);
            }
            schedule.push(deck.pop());
        }
        schedule.shuffle(&mut self.rng);
        schedule
    }

    /// The learn cards, one per cue of the drill, in lexicon order.
    pub fn learn_cards(&self) -> Vec<LearnCard> {
        let source = self.config.sources.first().cloned().unwrap_or_default();
        let mut cues = self.config.cues.clone();
        cues.sort();
        cues.dedup();
        cues.into_iter()
            .map(|cue| {
                let side = if cue.is_one_sided() {
                    Side::Left
                } else {
                    Side::Both
                };
                let stimulus = |exposure_ms: f64, playback_speed: f64| Stimulus {
                    cue: Some(cue),
                    side,
                    exposure_ms,
                    intensity: self.config.intensity,
                    source: source.clone(),
                    playback_speed,
                };
                LearnCard {
                    entry: lexicon::entry(cue),
                    apex: stimulus(3000.0, 1.0),
                    slow_motion: stimulus(400.0, 0.25),
                }
            })
            .collect()
    }

    /// The next thing to show. Asking again before answering returns the same trial.
    pub fn next_step(&mut self) -> FlashStep {
        if let Some(pending) = &self.pending {
            return FlashStep::Trial(pending.clone());
        }
        match self.phase {
            FlashPhase::Finished => FlashStep::Finished,
            FlashPhase::Learn => FlashStep::Learn(self.learn_cards()),
            FlashPhase::PreTest | FlashPhase::Practice | FlashPhase::PostTest => {
                let Some(trial_phase) = self.phase.trial_phase() else {
                    return FlashStep::Finished;
                };
                let Some(target) = self.schedule.pop() else {
                    // Cannot happen: a phase is left as soon as its schedule is empty.
                    self.enter(self.phase.next());
                    return self.next_step();
                };
                let side = match target {
                    Some(cue) if cue.is_one_sided() => {
                        if self.rng.random_bool(0.5) {
                            Side::Left
                        } else {
                            Side::Right
                        }
                    }
                    _ => Side::Both,
                };
                let source_index = self.rng.random_range(0..self.config.sources.len());
                self.number_in_phase += 1;
                let trial = FlashTrial {
                    id: self.next_id,
                    phase: trial_phase,
                    number_in_phase: self.number_in_phase,
                    trials_in_phase: self.trials_in_phase,
                    stimulus: Stimulus {
                        cue: target,
                        side,
                        exposure_ms: self.staircase.exposure_ms(),
                        intensity: self.config.intensity,
                        source: self.config.sources[source_index].clone(),
                        playback_speed: 1.0,
                    },
                    choices: self.config.cues.clone(),
                    gives_feedback: trial_phase == TrialPhase::Practice,
                };
                self.next_id += 1;
                self.pending = Some(trial.clone());
                FlashStep::Trial(trial)
            }
        }
    }

    /// Ends the learn phase.
    pub fn finish_learning(&mut self) -> Result<()> {
        if self.phase != FlashPhase::Learn {
            return Err(TrainError::DrillState {
                detail: format!("finish_learning called in phase {:?}", self.phase),
            });
        }
        self.enter(FlashPhase::Practice);
        Ok(())
    }

    /// Records the answer to the pending trial: `response` is the cue chosen (`None` = "saw
    /// nothing"), `reaction_ms` the time from the end of the flash to the answer, measured by
    /// the caller.
    pub fn answer(
        &mut self,
        trial_id: u32,
        response: Option<CueId>,
        reaction_ms: f64,
    ) -> Result<FlashFeedback> {
        let Some(trial) = self.pending.take_if(|t| t.id == trial_id) else {
            return Err(TrainError::DrillState {
                detail: match &self.pending {
                    Some(pending) => format!(
                        "answer to trial {trial_id}, but trial {} is showing",
                        pending.id
                    ),
                    None => format!("answer to trial {trial_id}, but no trial is showing"),
                },
            });
        };
        if !(reaction_ms.is_finite() && reaction_ms >= 0.0) {
            self.pending = Some(trial);
            return Err(TrainError::DrillState {
                detail: format!("reaction time {reaction_ms} ms must be a finite number >= 0"),
            });
        }
        if let Some(cue) = response
            && !trial.choices.contains(&cue)
        {
            self.pending = Some(trial);
            return Err(TrainError::DrillState {
                detail: format!("`{cue}` is not one of this trial's choices"),
            });
        }
        let shown = trial.stimulus.cue;
        let correct = shown == response;
        // Catch trials measure false alarms; they do not move the staircase.
        if shown.is_some() {
            self.staircase.update(correct);
        }
        self.answers.push(Answered {
            phase: trial.phase,
            shown,
            answered: response,
            exposure_ms: trial.stimulus.exposure_ms,
            reaction_ms,
        });
        let reveal = trial.gives_feedback.then_some(Reveal {
            correct,
            shown,
            answered: response,
            exposure_ms: trial.stimulus.exposure_ms,
        });
        let message = match (trial.gives_feedback, correct, shown) {
            (false, _, _) => "Answer recorded.".to_owned(),
            (true, true, Some(cue)) => {
                format!("Right: {cue} ({:.0} ms).", trial.stimulus.exposure_ms)
            }
            (true, true, None) => "Right: nothing was flashed.".to_owned(),
            (true, false, Some(cue)) => format!(
                "Not quite: it was {cue} ({}); look again at its card.",
                lexicon::entry(cue).looks_like
            ),
            (true, false, None) => "Nothing was flashed this time: a false alarm.".to_owned(),
        };
        let phase_finished = self.schedule.is_empty();
        if phase_finished {
            self.finished.push((trial.phase, self.staircase.clone()));
            self.enter(self.phase.next());
        }
        Ok(FlashFeedback {
            trial_id,
            reveal,
            message,
            phase_finished,
        })
    }

    /// Results so far.
    pub fn summary(&self) -> FlashSummary {
        let mut phases = Vec::new();
        let current = self.phase.trial_phase().map(|p| (p, &self.staircase));
        let staircases = self.finished.iter().map(|(p, s)| (*p, s)).chain(current);
        for (phase, staircase) in staircases {
            let answers: Vec<&Answered> =
                self.answers.iter().filter(|a| a.phase == phase).collect();
            if answers.is_empty() {
                continue;
            }
            let stats = AnswerStats::of(&answers);
            phases.push(PhaseSummary {
                phase,
                trials: answers.len() as u32,
                flash_trials: stats.flash_trials,
                flash_correct: stats.flash_correct,
                accuracy: ratio(stats.flash_correct, stats.flash_trials),
                catch_trials: stats.catch_trials,
                false_alarms: stats.false_alarms,
                false_alarm_rate: ratio(stats.false_alarms, stats.catch_trials),
                threshold_ms: staircase.threshold_ms(),
                final_exposure_ms: staircase.exposure_ms(),
                at_floor: staircase.at_floor(),
                median_reaction_ms: stats.median_reaction_ms,
            });
        }
        let tests: Vec<&Answered> = self.answers.iter().filter(|a| a.phase.is_test()).collect();
        let test_stats = AnswerStats::of(&tests);
        let all: Vec<&Answered> = self.answers.iter().collect();
        let all_stats = AnswerStats::of(&all);
        let mut confusion = ConfusionMatrix::new(&self.config.cues);
        for answer in &self.answers {
            confusion.add(answer.shown, answer.answered);
        }
        FlashSummary {
            phases,
            accuracy: ratio(test_stats.flash_correct, test_stats.flash_trials),
            false_alarm_rate: ratio(all_stats.false_alarms, all_stats.catch_trials),
            median_reaction_ms: all_stats.median_reaction_ms,
            confusion,
        }
    }

    /// The answered trials as journal records.
    pub fn records(&self, date: Date, session: &str) -> Vec<TrialRecord> {
        self.answers
            .iter()
            .map(|a| TrialRecord {
                date,
                kind: DrillKind::Flash,
                phase: a.phase,
                target: a.shown,
                response: a.answered,
                exposure_ms: Some(a.exposure_ms),
                reaction_ms: Some(a.reaction_ms),
                session: Some(session.to_owned()),
            })
            .collect()
    }
}

struct AnswerStats {
    flash_trials: u32,
    flash_correct: u32,
    catch_trials: u32,
    false_alarms: u32,
    median_reaction_ms: Option<f64>,
}

impl AnswerStats {
    fn of(answers: &[&Answered]) -> AnswerStats {
        let mut stats = AnswerStats {
            flash_trials: 0,
            flash_correct: 0,
            catch_trials: 0,
            false_alarms: 0,
            median_reaction_ms: None,
        };
        for answer in answers {
            if answer.shown.is_some() {
                stats.flash_trials += 1;
                stats.flash_correct += u32::from(answer.shown == answer.answered);
            } else {
                stats.catch_trials += 1;
                stats.false_alarms += u32::from(answer.answered.is_some());
            }
        }
        let mut reaction: Vec<f64> = answers
            .iter()
            .map(|a| a.reaction_ms)
            .filter(|ms| ms.is_finite())
            .collect();
        stats.median_reaction_ms = median(&mut reaction, EvenMedian::Mean);
        stats
    }
}

/// `numerator / denominator`, `None` for an empty denominator.
pub(crate) fn ratio(numerator: u32, denominator: u32) -> Option<f64> {
    (denominator > 0).then(|| f64::from(numerator) / f64::from(denominator))
}

/// A simulated observer for demonstrations (`microcue drill flash --demo`): it sees a flash
/// with a probability that grows with exposure (logistic in log2 exposure) and otherwise
/// guesses among the choices and "nothing". Not a model of any real person.
#[derive(Debug, Clone)]
pub struct SimulatedObserver {
    /// Exposure at which the observer sees the flash half the time, ms.
    pub midpoint_ms: f64,
    /// Steepness per log2 unit.
    pub slope: f64,
    /// Probability of answering a cue on a catch trial.
    pub false_alarm_rate: f64,
    /// Typical reaction time, ms.
    pub reaction_ms: f64,
    rng: ChaCha8Rng,
}

impl SimulatedObserver {
    /// An observer whose accuracy is `accuracy` at `threshold_ms` when choosing among
    /// `choices` cues plus "nothing". `seed` fixes its answers.
    pub fn with_threshold(
        threshold_ms: f64,
        accuracy: f64,
        choices: usize,
        slope: f64,
        seed: u64,
    ) -> SimulatedObserver {
        let guess = 1.0 / (choices as f64 + 1.0);
        // accuracy = seen + (1 - seen) * guess  =>  seen = (accuracy - guess) / (1 - guess)
        let seen = ((accuracy - guess) / (1.0 - guess)).clamp(1e-6, 1.0 - 1e-6);
        // seen = 1 / (1 + exp(-slope * (log2 T - log2 m)))  =>  log2 m = log2 T + ln(1/seen - 1) / slope
        let midpoint_log2 = threshold_ms.log2() + (1.0 / seen - 1.0).ln() / slope;
        SimulatedObserver {
            midpoint_ms: midpoint_log2.exp2(),
            slope,
            false_alarm_rate: 0.1,
            reaction_ms: 700.0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Probability of seeing a flash of `exposure_ms`.
    pub fn p_seen(&self, exposure_ms: f64) -> f64 {
        1.0 / (1.0 + (-self.slope * (exposure_ms.log2() - self.midpoint_ms.log2())).exp())
    }

    /// An answer and a reaction time for `trial`.
    pub fn respond(&mut self, trial: &FlashTrial) -> (Option<CueId>, f64) {
        let p_seen = self.p_seen(trial.stimulus.exposure_ms).clamp(0.0, 1.0);
        let rng = &mut self.rng;
        let reaction_ms = self.reaction_ms * (0.8 + 0.4 * rng.random::<f64>());
        let answer = match trial.stimulus.cue {
            None => {
                if rng.random_bool(self.false_alarm_rate.clamp(0.0, 1.0)) {
                    trial
                        .choices
                        .get(rng.random_range(0..trial.choices.len()))
                        .copied()
                } else {
                    None
                }
            }
            Some(cue) => {
                if rng.random_bool(p_seen) {
                    Some(cue)
                } else {
                    // Not seen: a uniform guess among the cues and "nothing" (index == len).
                    trial
                        .choices
                        .get(rng.random_range(0..=trial.choices.len()))
                        .copied()
                }
            }
        };
        (answer, reaction_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        config: FlashConfig,
        seed: u64,
        mut answer: impl FnMut(&FlashTrial) -> Option<CueId>,
    ) -> FlashDrill {
        let mut drill = FlashDrill::new(config, seed).expect("valid config");
        loop {
            match drill.next_step() {
                FlashStep::Trial(trial) => {
                    let response = answer(&trial);
                    drill
                        .answer(trial.id, response, 500.0)
                        .expect("pending trial");
                }
                FlashStep::Learn(cards) => {
                    assert_eq!(cards.len(), drill.config().cues.len());
                    drill.finish_learning().expect("in learn");
                }
                FlashStep::Finished => return drill,
            }
        }
    }

    #[test]
    fn phases_run_in_order_with_balanced_catch_trials() {
        let config = FlashConfig {
            pre_test_trials: 20,
            practice_trials: 10,
            post_test_trials: 20,
            ..Default::default()
        };
        let mut phases = Vec::new();
        let drill = run(config, 1, |trial| {
            if phases.last() != Some(&trial.phase) {
                phases.push(trial.phase);
            }
            trial.stimulus.cue
        });
        assert_eq!(
            phases,
            vec![
                TrialPhase::PreTest,
                TrialPhase::Practice,
                TrialPhase::PostTest
            ]
        );
        let summary = drill.summary();
        assert_eq!(summary.phases.len(), 3);
        assert_eq!(summary.phases[0].catch_trials, 3); // round(20 * 0.15)
        assert_eq!(summary.accuracy, Some(1.0));
        assert_eq!(summary.false_alarm_rate, Some(0.0));
        assert!(
            summary.phases[0].final_exposure_ms < 100.0,
            "perfect observer descends"
        );
    }

    #[test]
    fn feedback_only_in_practice_and_wrong_ids_are_refused() {
        let mut drill = FlashDrill::new(FlashConfig::quick(), 3).expect("valid");
        let FlashStep::Trial(trial) = drill.next_step() else {
            panic!("pre-test first")
        };
        assert!(drill.answer(trial.id + 1, None, 400.0).is_err());
        let feedback = drill.answer(trial.id, None, 400.0).expect("pending");
        assert!(feedback.reveal.is_none(), "no feedback in the pre-test");
        assert!(
            drill.answer(trial.id, None, 400.0).is_err(),
            "answered twice"
        );
        // Skip to practice.
        loop {
            match drill.next_step() {
                FlashStep::Trial(t) if t.phase == TrialPhase::Practice => {
                    let feedback = drill
                        .answer(t.id, Some(CueId::MicroFrown), 400.0)
                        .expect("pending");
                    assert!(feedback.reveal.is_some());
                    break;
                }
                FlashStep::Trial(t) => {
                    drill.answer(t.id, None, 400.0).expect("pending");
                }
                FlashStep::Learn(_) => drill.finish_learning().expect("learn"),
                FlashStep::Finished => panic!("practice never came"),
            }
        }
    }

    #[test]
    fn simulated_observer_hits_its_accuracy_at_its_threshold() {
        let observer = SimulatedObserver::with_threshold(120.0, 0.75, 11, 3.0, 0);
        let accuracy = observer.p_seen(120.0) + (1.0 - observer.p_seen(120.0)) / 12.0;
        assert!((accuracy - 0.75).abs() < 1e-9, "{accuracy}");
        assert!(observer.p_seen(500.0) > observer.p_seen(40.0));
    }

    #[test]
    fn same_seed_same_drill() {
        let a = run(FlashConfig::quick(), 42, |t| t.choices.first().copied());
        let b = run(FlashConfig::quick(), 42, |t| t.choices.first().copied());
        assert_eq!(
            a.records(Date::constant(2025, 1, 1), "s"),
            b.records(Date::constant(2025, 1, 1), "s")
        );
    }
}
