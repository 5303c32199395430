//! The recordings of a batch: from folders (recursive), files and glob patterns, or from a
//! manifest CSV whose other columns are carried into the outputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// File extensions a folder scan picks up (case-insensitive). The native readers take the
/// first four; the rest go through ffmpeg, and fail per file with a hint when it is missing.
const VIDEO_EXTENSIONS: [&str; 14] = [
    "mp4", "mov", "m4v", "y4m", "mkv", "avi", "webm", "wmv", "mpg", "mpeg", "mts", "m2ts", "3gp",
    "flv",
];

/// One recording to analyse.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Where to read it.
    pub path: PathBuf,
    /// How the outputs name it: the path as found or as written in the manifest.
    pub name: String,
    /// The manifest's other cells of its row, in the order of [`Corpus::columns`].
    pub carried: Vec<String>,
}

/// The recordings of a batch, in output order.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Names of the carried manifest columns (none without a manifest).
    pub columns: Vec<String>,
    /// The recordings, each once.
    pub jobs: Vec<Job>,
}

/// Files, folders (searched recursively, hidden entries and `skip` left out) and glob patterns,
/// in the order given; each folder and pattern in path order; each file once.
pub fn from_inputs(inputs: &[PathBuf], skip: &Path) -> anyhow::Result<Corpus> {
    let skip = skip.canonicalize().ok();
    let mut corpus = Corpus::default();
    let mut seen: HashMap<PathBuf, ()> = HashMap::new();
    let mut add = |path: PathBuf, corpus: &mut Corpus| {
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if seen.insert(key, ()).is_none() {
            corpus.jobs.push(Job {
                name: path.display().to_string(),
                path,
                carried: Vec::new(),
            });
        }
    };
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            scan_folder(input, skip.as_deref(), &mut found)
                .with_context(|| format!("cannot read the folder `{}`", input.display()))?;
            if found.is_empty() {
                bail!(
                    "no videos in `{}` (looked for {} in it and its subfolders)\n\
                     hint: give the folder that holds the recordings, or the files themselves",
                    input.display(),
                    VIDEO_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
                );
            }
            found.sort();
            for path in found {
                add(path, &mut corpus);
            }
        } else if !input.exists() && is_pattern(input) {
            let pattern = input.to_string_lossy();
            // Hidden files only when the pattern names the dot, as in a folder scan.
            let options = glob::MatchOptions {
                require_literal_leading_dot: true,
                ..glob::MatchOptions::new()
            };
            let matches = glob::glob_with(&pattern, options).with_context(|| {
                format!("`{pattern}` is not a valid glob pattern (`*`, `?`, `**`, `[abc]`)")
            })?;
            let mut count = 0;
            for entry in matches {
                let path = entry.with_context(|| format!("while matching `{pattern}`"))?;
                if path.is_file() {
                    add(path, &mut corpus);
                    count += 1;
                }
            }
            if count == 0 {
                bail!(
                    "`{pattern}` matches no file\nhint: check the pattern; `**` matches any depth of folders"
                );
            }
        } else {
            // A missing file is that file's error in the status table, not the batch's.
            add(input.clone(), &mut corpus);
        }
    }
    Ok(corpus)
}

fn is_pattern(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

fn scan_folder(dir: &Path, skip: Option<&Path>, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if skip.is_some_and(|skip| path.canonicalize().is_ok_and(|p| p == skip)) {
                continue;
            }
            scan_folder(&path, skip, found)?;
        } else if is_video(&path) {
            found.push(path);
        }
    }
    Ok(())
}

fn is_video(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
}

/// Reads a manifest CSV: a header, a `path_column` of recordings (relative paths are relative to
/// the manifest's folder) and any other columns, carried into the outputs.
pub fn from_manifest(manifest: &Path, path_column: &str) -> anyhow::Result<Corpus> {
    let file = std::fs::File::open(manifest)
        .with_context(|| format!("cannot open the manifest `{}`", manifest.display()))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of `{}`", manifest.display()))?
        .iter()
        .map(|cell| cell.trim().to_string())
        .collect();
    let Some(path_index) = header.iter().position(|name| name == path_column) else {
        bail!(
            "`{}` has no `{path_column}` column (its columns: {})\n\
             hint: name the column of video paths `path`, or give its name with --path-column",
            manifest.display(),
            header.join(", ")
        );
    };
    let base = manifest.parent().unwrap_or(Path::new("."));
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != path_index)
        .map(|(_, name)| name.clone())
        .collect();
    let mut corpus = Corpus {
        columns,
        jobs: Vec::new(),
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("in the manifest `{}`", manifest.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let name = record.get(path_index).unwrap_or("").trim().to_string();
        if name.is_empty() {
            bail!(
                "`{}` line {line}: the `{path_column}` cell is empty\nhint: every row names one recording",
                manifest.display()
            );
        }
        if let Some(first) = first_line.insert(name.clone(), line) {
            bail!(
                "`{}` line {line}: `{name}` is listed again (first on line {first})\n\
                 hint: list each recording once",
                manifest.display()
            );
        }
        let carried = record
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != path_index)
            .map(|(_, cell)| cell.to_string())
            .collect();
        corpus.jobs.push(Job {
            path: base.join(&name),
            name,
            carried,
        });
    }
    if corpus.jobs.is_empty() {
        bail!(
            "`{}` lists no recordings (a header and no rows)",
            manifest.display()
        );
    }
    Ok(corpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_are_relative_to_the_manifest_and_other_columns_are_carried() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("corpus.csv");
        std::fs::write(
            &manifest,
            "subject,path,session\nS1,clips/a.mp4,1\n\"S2, twin\",/data/b.mov,2\n",
        )
        .unwrap();
        let corpus = from_manifest(&manifest, "path").unwrap();
        assert_eq!(corpus.columns, ["subject", "session"]);
        assert_eq!(corpus.jobs.len(), 2);
        assert_eq!(corpus.jobs[0].path, dir.path().join("clips/a.mp4"));
        assert_eq!(corpus.jobs[0].name, "clips/a.mp4");
        assert_eq!(corpus.jobs[1].path, PathBuf::from("/data/b.mov"));
        assert_eq!(corpus.jobs[1].carried, ["S2, twin", "2"]);
    }

    #[test]
    fn manifest_errors_name_the_file_the_line_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("m.csv");
        std::fs::write(&manifest, "video,subject\na.mp4,S1\n").unwrap();
        let error = from_manifest(&manifest, "path").unwrap_err().to_string();
        assert!(
            error.contains("no `path` column (its columns: video, subject)"),
            "{error}"
        );
        assert!(error.contains("--path-column"), "{error}");

        std::fs::write(&manifest, "path,subject\na.mp4,S1\nb.mp4,S2\na.mp4,S3\n").unwrap();
        let error = from_manifest(&manifest, "path").unwrap_err().to_string();
        assert!(
            error.contains("line 4: `a.mp4` is listed again (first on line 2)"),
            "{error}"
        );

        std::fs::write(&manifest, "path,subject\n,S1\n").unwrap();
        let error = from_manifest(&manifest, "path").unwrap_err().to_string();
        assert!(
            error.contains("line 2: the `path` cell is empty"),
            "{error}"
        );
    }

    #[test]
    fn folders_are_searched_recursively_in_path_order_skipping_hidden_and_output_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "b.mp4",
            "a/z.MOV",
            "a/notes.txt",
            ".hidden/c.mp4",
            "out/x.mp4",
            "a/deeper/y.y4m",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"").unwrap();
        }
        let corpus = from_inputs(&[root.to_path_buf()], &root.join("out")).unwrap();
        let names: Vec<PathBuf> = corpus
            .jobs
            .iter()
            .map(|job| job.path.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            [
                PathBuf::from("a/deeper/y.y4m"),
                PathBuf::from("a/z.MOV"),
                PathBuf::from("b.mp4")
            ]
        );

        let pattern = root.join("**/*.mp4");
        let again = from_inputs(&[pattern, root.join("b.mp4")], &root.join("out")).unwrap();
        let names: Vec<&str> = again.jobs.iter().map(|job| job.name.as_str()).collect();
        assert_eq!(names.len(), 2, "each file once: {names:?}");
        assert!(
            names.iter().any(|name| name.ends_with("out/x.mp4")),
            "{names:?}"
        );

        let empty = root.join("a/deeper/none*.mp4");
        let error = from_inputs(&[empty], &root.join("out")).unwrap_err();
        assert!(error.to_string().contains("matches no file"), "{error}");
    }
}
