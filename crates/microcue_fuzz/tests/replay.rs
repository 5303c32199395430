//! Replays every committed fuzz input on stable, through the entry functions the fuzzers call:
//! the minimised corpora (`fuzz/corpus/TARGET/`) and the inputs that once broke a reader
//! (`fuzz/regressions/TARGET/NAME`, named after what broke). An input that panics or runs for
//! more than a minute fails the test, which lists every such input.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use microcue_fuzz::{Outcome, TARGETS, run};

/// Longer than any input takes in a debug build (the slowest, a few seconds); shorter than a
/// hang that would hold CI until its own limit.
const HANG: Duration = Duration::from_secs(60);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir` (none when it does not exist), sorted.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `fuzz/FOLDER/TARGET/` on a worker thread; returns how many ran.
fn replay(folder: &str) -> usize {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for target in TARGETS {
        for path in inputs(&fuzz_dir().join(folder).join(target.name)) {
            let data = std::fs::read(&path).expect("a fuzz input reads");
            let entry = target.run;
            let (sender, receiver) = mpsc::channel::<Outcome>();
            std::thread::spawn(move || {
                let _ = sender.send(run(entry, &data));
            });
            match receiver.recv_timeout(HANG) {
                Ok(outcome) => {
                    if let Some(panic) = outcome.panic {
                        failures.push(format!("{}: {panic}", path.display()));
                    }
                }
                Err(_) => {
                    // The worker cannot be stopped: report what is known and end the test.
                    failures.push(format!("{}: still running after {HANG:?}", path.display()));
                    break;
                }
            }
            replayed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} fuzz inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    replayed
}

/// Every target has a corpus, seeded from real files and minimised after fuzzing.
#[test]
fn every_target_has_a_corpus() {
    for target in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target.name);
        assert!(
            !inputs(&dir).is_empty(),
            "no corpus for `{}` in {}; hint: fuzz/seed.sh makes the seeds, fuzz/run.sh the corpus",
            target.name,
            dir.display()
        );
    }
}

#[test]
fn corpora_replay_without_a_crash() {
    assert!(replay("corpus") > 0, "no corpus input ran");
}

#[test]
fn regression_inputs_replay_without_a_crash() {
    assert!(replay("regressions") > 0, "no regression input ran");
}
