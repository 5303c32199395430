//! `microcue coach CUE`: the response playbook entry for one cue.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;
use microcue_core::coach::{Suggestion, suggest};
use microcue_core::lexicon::{
    self, CueEntry, ETHICS, EthicsRule, LIMITS, Limit, PIPELINE, PipelineStage,
};
use microcue_core::{CueId, Side};
use serde::Serialize;

/// Arguments of `microcue coach`.
#[derive(Debug, clap::Args)]
pub struct CoachArgs {
    /// The cue, e.g. `eyebrow_flash` (`microcue lexicon` lists all twelve).
    pub cue: String,
    /// Side of the movement, from the subject's view (matters for one-sided cues).
    #[arg(long, default_value = "both", value_parser = ["left", "right", "both"])]
    pub side: String,
    /// Print the playbook entry as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Everything `--json` prints.
#[derive(Serialize)]
struct CoachJson {
    suggestion: Suggestion,
    entry: &'static CueEntry,
    pipeline: &'static [PipelineStage],
    ethics: &'static [EthicsRule],
    limits: &'static [Limit],
}

/// Runs `microcue coach`.
pub fn run(args: CoachArgs) -> anyhow::Result<ExitCode> {
    let Some(cue) = CueId::parse(&args.cue) else {
        let valid: Vec<&str> = CueId::ALL.iter().map(|c| c.as_str()).collect();
        bail!(
            "unknown cue `{}`\nhint: valid cues are {}",
            args.cue,
            valid.join(", ")
        );
    };
    let side = match args.side.as_str() {
        "left" => Side::Left,
        "right" => Side::Right,
        _ => Side::Both,
    };
    let suggestion = suggest(cue, side);
    let text = if args.json {
        let output = CoachJson {
            suggestion,
            entry: lexicon::entry(cue),
            pipeline: &PIPELINE,
            ethics: &ETHICS,
            limits: &LIMITS,
        };
        let mut json = serde_json::to_string_pretty(&output)?;
        json.push('\n');
        json
    } else {
        render(lexicon::entry(cue), &suggestion)
    };
    crate::stdout::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn render(entry: &CueEntry, suggestion: &Suggestion) -> String {
    let mut out = String::new();
    let regions: Vec<&str> = entry.regions.iter().map(|r| r.as_str()).collect();
    let _ = writeln!(
        out,
        "{} — {}  (FACS {}; look at: {})",
        entry.id,
        entry.name,
        entry.facs,
        regions.join(", ")
    );
    let _ = writeln!(out, "  looks like:  {}", entry.looks_like);
    let _ = writeln!(
        out,
        "  often means: {} (a hypothesis, never a verdict)",
        entry.meaning
    );
    let _ = writeln!(out, "  valence:     {}", entry.valence_note);
    if !entry.signature.required.is_empty() {
        let _ = writeln!(
            out,
            "  signature:   {} — {}",
            entry.signature.required.join(" + "),
            entry.signature.pattern
        );
    }

    out.push_str("\nResponse\n");
    let _ = writeln!(out, "  {}", suggestion.headline);
    if entry.supported {
        let _ = writeln!(out, "  the guide: {}", entry.response);
    }
    for line in suggestion.lines {
        let _ = writeln!(out, "  say: “{line}”");
    }
    if let Some(note) = suggestion.lines_note {
        let _ = writeln!(out, "  ({note})");
    }
    if let Some(note) = suggestion.context_note {
        let _ = writeln!(out, "  {note}");
    }

    if !entry.scripts.is_empty() {
        out.push_str("\nScripts (guide §8)\n");
        for script in entry.scripts {
            let _ = writeln!(out, "  {} — {}", script.id, script.setting);
            for step in script.steps {
                let _ = writeln!(out, "      {step}");
            }
            let _ = writeln!(out, "      goal: {}", script.goal);
        }
    }

    if entry.supported {
        let [earliest_s, final_s] = suggestion.observe_window_s;
        let _ = writeln!(
            out,
            "\nWatch next ({earliest_s}–{final_s} s after responding)"
        );
        let _ = writeln!(out, "  {}", suggestion.watch_next);
        out.push_str(
            "  Did the face relax, match or withdraw? Update your picture of their baseline.\n",
        );

        out.push_str("\nIf you misread — repair\n");
        for line in suggestion.repair_lines {
            let _ = writeln!(out, "  “{line}”");
        }

        out.push_str("\nBefore acting\n");
        let _ = writeln!(out, "  {}", suggestion.two_cue_rule);
        let stages: Vec<String> = PIPELINE
            .iter()
            .map(|s| format!("{} {}–{} s", s.name, s.start_s, s.end_s))
            .collect();
        let _ = writeln!(out, "  Timing: {}", stages.join(" → "));
    }

    out.push_str("\nLimits of this cue\n");
    for note in entry.reliability {
        let _ = writeln!(out, "  - {note}");
    }

    out.push_str("\nEthics (non-negotiable)\n");
    for rule in ETHICS {
        let _ = writeln!(out, "  {}. {}: {}", rule.number, rule.title, rule.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbook_text_has_lines_repair_rule_and_ethics() {
        let text = render(
            lexicon::entry(CueId::EyebrowFlash),
            &suggest(CueId::EyebrowFlash, Side::Both),
        );
        for needle in [
            "say: “Oh — curious? Tell me more.”",
            "C — voice note response",
            "“Oops — I think I read that wrong. My mistake.”",
            "2 supporting cues",
            "observe 5–15 s",
            "Consent & benefit",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
        }
    }

    #[test]
    fn unknown_cue_lists_the_valid_ones() {
        let args = CoachArgs {
            cue: "wink".into(),
            side: "both".into(),
            json: false,
        };
        let error = run(args).unwrap_err().to_string();
        assert!(error.contains("unknown cue `wink`"));
        assert!(error.contains("genuine_smile") && error.contains("micro_surprise"));
    }
}
