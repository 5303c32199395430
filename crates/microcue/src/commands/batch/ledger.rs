//! What a batch has finished, kept in `OUT/.microcue-batch/`: one record per analysed file,
//! written atomically as soon as the file is done, so that a killed run loses no finished file
//! and a rerun skips them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, bail};
use microcue_core::Event;
use serde::{Deserialize, Serialize};

use super::inputs::Job;

/// The folder of the records, inside `--out`.
const STATE_DIR: &str = ".microcue-batch";

/// How one file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Analysed to its end with a face in at least one frame.
    Ok,
    /// Analysed to its end; no frame had a face.
    NoFace,
    /// Not analysed to its end (unreadable, undecodable, a failure); see the message.
    Error,
}

impl FileStatus {
    /// The name in the status table.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::NoFace => "no_face",
            FileStatus::Error => "error",
        }
    }
}

/// Size and modification time of an input when it was analysed: a changed file is analysed
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since 1970.
    pub modified_ns: u64,
}

impl Fingerprint {
    /// The fingerprint of `path` now (`None` when it cannot be read).
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let metadata = std::fs::metadata(path).ok()?;
        let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Fingerprint {
            size: metadata.len(),
            modified_ns: u64::try_from(modified.as_nanos()).unwrap_or(u64::MAX),
        })
    }
}

/// The result of one file: a row of the status table and its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The file as the outputs name it ([`Job::name`]).
    pub name: String,
    /// The input when it was analysed.
    pub fingerprint: Fingerprint,
    /// How it ended.
    pub status: FileStatus,
    /// Why it failed, or that it had no face (empty when ok).
    pub message: String,
    /// Frames analysed.
    pub frames: u64,
    /// Frames with a face.
    pub frames_with_face: u64,
    /// Duration of the recording, seconds, when known.
    pub duration_s: Option<f64>,
    /// Typical frame rate, when known.
    pub fps: Option<f64>,
    /// Wall time the analysis took, seconds.
    pub seconds: f64,
    /// The events, in the order `microcue analyze` writes them (kept from before a decoding
    /// error too).
    pub events: Vec<Event>,
}

/// The records of one output folder.
pub struct Ledger {
    done: PathBuf,
}

impl Ledger {
    /// Opens (or starts) the records in `out`, made with `settings`; refuses records made with
    /// other settings, whose events would not be comparable.
    pub fn open(out: &Path, settings: &serde_json::Value) -> anyhow::Result<Ledger> {
        let state = out.join(STATE_DIR);
        let done = state.join("done");
        std::fs::create_dir_all(&done)
            .with_context(|| format!("cannot create the output folder `{}`", out.display()))?;
        let settings_path = state.join("settings.json");
        match std::fs::read_to_string(&settings_path) {
            Ok(text) => {
                let earlier: serde_json::Value =
                    serde_json::from_str(&text).with_context(|| {
                        format!(
                            "`{}` is damaged; hint: delete `{}` to start over",
                            settings_path.display(),
                            out.display()
                        )
                    })?;
                if &earlier != settings {
                    bail!(
                        "`{}` holds results made with other settings ({}); their events would not compare with new ones\n\
                         hint: give another --out, or delete `{}` to start over",
                        out.display(),
                        differences(&earlier, settings).join(", "),
                        out.display()
                    );
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                write_atomically(&settings_path, |out| {
                    serde_json::to_writer_pretty(&mut *out, settings)?;
                    Ok(out.write_all(b"\n")?)
                })?;
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot read `{}`", settings_path.display()));
            }
        }
        Ok(Ledger { done })
    }

    /// The record of `job` from an earlier run, when it finished (ok or no face) and the file
    /// has not changed since. Failed files are tried again.
    pub fn finished(&self, job: &Job, now: Option<Fingerprint>) -> Option<FileRecord> {
        let text = std::fs::read_to_string(self.record_path(&job.name)).ok()?;
        let record: FileRecord = serde_json::from_str(&text).ok()?;
        (record.name == job.name
            && Some(record.fingerprint) == now
            && record.status != FileStatus::Error)
            .then_some(record)
    }

    /// Saves a file's record (atomically: a killed run leaves the old record or the new one).
    pub fn save(&self, record: &FileRecord) -> anyhow::Result<()> {
        write_atomically(&self.record_path(&record.name), |out| {
            Ok(serde_json::to_writer(out, record)?)
        })
    }

    fn record_path(&self, name: &str) -> PathBuf {
        let stem: String = Path::new(name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        self.done
            .join(format!("{stem}-{:016x}.json", fnv1a(name.as_bytes())))
    }
}

/// The top-level settings that differ.
fn differences(earlier: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let (Some(earlier), Some(now)) = (earlier.as_object(), now.as_object()) else {
        return vec!["format".into()];
    };
    let mut keys: Vec<&String> = earlier.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| earlier.get(*key) != now.get(*key))
        .map(|key| format!("`{key}`"))
        .collect()
}

/// 64-bit FNV-1a: a hash that stays the same across Rust versions, for record file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `path` through a temporary file beside it, renamed into place once complete and
/// synced, so that readers (and a rerun after a kill) see the old file or the new one, never half.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let file = File::create(&temporary)?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        Ok::<(), anyhow::Error>(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: FileStatus, fingerprint: Fingerprint) -> FileRecord {
        FileRecord {
            name: name.into(),
            fingerprint,
            status,
            message: String::new(),
            frames: 10,
            frames_with_face: 10,
            duration_s: Some(0.4),
            fps: Some(25.0),
            seconds: 1.5,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_rerun_reuses_finished_unchanged_files_and_retries_failed_or_changed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let settings = serde_json::json!({"max_faces": 1});
        let ledger = Ledger::open(dir.path(), &settings).unwrap();
        let print = Fingerprint {
            size: 5,
            modified_ns: 7,
        };
        let job = |name: &str| Job {
            path: name.into(),
            name: name.into(),
            carried: Vec::new(),
        };
        ledger
            .save(&record("a/x.mp4", FileStatus::Ok, print))
            .unwrap();
        ledger
            .save(&record("b/x.mp4", FileStatus::Error, print))
            .unwrap();
        ledger
            .save(&record("c.mp4", FileStatus::NoFace, print))
            .unwrap();
        let ledger = Ledger::open(dir.path(), &settings).unwrap();
        assert!(ledger.finished(&job("a/x.mp4"), Some(print)).is_some());
        assert!(ledger.finished(&job("c.mp4"), Some(print)).is_some());
        assert!(ledger.finished(&job("b/x.mp4"), Some(print)).is_none());
        let touched = Fingerprint {
            modified_ns: 8,
            ..print
        };
        assert!(ledger.finished(&job("a/x.mp4"), Some(touched)).is_none());
        assert!(ledger.finished(&job("d.mp4"), Some(print)).is_none());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(STATE_DIR).join("done"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");

        let other = serde_json::json!({"max_faces": 2});
        let error = Ledger::open(dir.path(), &other).err().unwrap().to_string();
        assert!(error.contains("other settings (`max_faces`)"), "{error}");
        assert!(error.contains("hint: give another --out"), "{error}");
    }
}
