//! `microcue lexicon`: the twelve cues as a table (or the full lexicon as JSON).

use std::fmt::Write as _;
use std::process::ExitCode;

use microcue_core::lexicon::{self, CueEntry, LIMITS, TWO_CUE_RULE};

use crate::stdout::print;

/// Arguments of `microcue lexicon`.
#[derive(Debug, clap::Args)]
pub struct LexiconArgs {
    /// Print the full lexicon (12 cues with signatures, lines, scripts, limits) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `microcue lexicon`.
pub fn run(args: LexiconArgs) -> anyhow::Result<ExitCode> {
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(lexicon::lexicon())?;
        json.push('\n');
        json
    } else {
        table()
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The response column: family and the first line to say.
fn response_cell(entry: &CueEntry) -> String {
    let Some(family) = entry.family else {
        return "unsupported: never guessed".to_string();
    };
    let family = match entry.alternative_family {
        Some(alternative) => format!(
            "{} or {} (context decides)",
            lexicon::family_name(family),
            lexicon::family_name(alternative)
        ),
        None => lexicon::family_name(family).to_string(),
    };
    match entry.lines.first() {
        Some(line) => format!("{family}: “{line}”"),
        None => format!("{family}: {}", entry.response),
    }
}

fn table() -> String {
    let entries = lexicon::lexicon();
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.id.as_str().to_string(),
                e.looks_like.to_string(),
                e.facs.to_string(),
                lexicon::valence_name(e.valence).to_string(),
                response_cell(e),
            ]
        })
        .collect();
    let header = ["CUE", "LOOKS LIKE", "FACS", "VALENCE", "RESPONSE"].map(str::to_string);
    let mut widths = [0_usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(TWO_CUE_RULE);
    out.push_str("\n\nLimits:\n");
    for limit in LIMITS {
        let _ = writeln!(out, "  - {}: {}", limit.topic, limit.text);
    }
    out.push_str(
        "\nMore: `microcue coach CUE` for a cue's playbook, `microcue lexicon --json` for all data.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_cue_and_the_limits() {
        let text = table();
        for entry in lexicon::lexicon() {
            assert!(text.contains(entry.id.as_str()), "{}", entry.id);
        }
        assert!(text.contains("invite: “Oh — curious? Tell me more.”"));
        assert!(text.contains("unsupported"));
        assert!(text.contains("culture"));
        assert!(text.contains("not a lie detector"));
    }
}
