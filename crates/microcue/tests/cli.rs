//! End-to-end tests of the `microcue` binary: real files in, exit code + stdout + stderr out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the checkout, when present (CI and developers; not users).
fn shared_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared");
    if dir.join("data/faces").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/data/faces is absent (it exists only beside a developer checkout)");
        None
    }
}

fn microcue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_microcue"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("MICROCUE_HOME")
        .output()
        .expect("the microcue binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Architecture

/// The crate table of ARCHITECTURE.md lists exactly the workspace's crates, each with its
/// project dependencies.
#[test]
fn architecture_table_matches_workspace() {
    let root = repo_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut table: Vec<(String, Vec<String>)> = Vec::new();
    for line in architecture.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 5 && cells[1].starts_with("microcue") {
            let deps = cells[3]
                .split(',')
                .map(str::trim)
                .filter(|d| d.starts_with("microcue"))
                .map(String::from)
                .collect();
            table.push((cells[1].to_string(), deps));
        }
    }
    let crates_dir = root.join("crates");
    let mut workspace: Vec<(String, Vec<String>)> = Vec::new();
    for entry in std::fs::read_dir(&crates_dir).expect("crates/") {
        let dir = entry.expect("entry").path();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(manifest.contains(&format!("name = \"{name}\"")), "folder name = package name for {name}");
        let deps_section = manifest.split("[dependencies]").nth(1).unwrap_or("");
        let deps_section = deps_section.split("\n[").next().unwrap_or("");
        let mut deps: Vec<String> = deps_section
            .lines()
            .filter_map(|l| l.split(['=', '.', ' ']).next())
            .filter(|d| d.starts_with("microcue"))
            .map(String::from)
            .collect();
        deps.sort();
        workspace.push((name, deps));
    }
    workspace.sort();
    let mut table_sorted = table.clone();
    for (_, deps) in &mut table_sorted {
        deps.sort();
    }
    table_sorted.sort();
    assert_eq!(table_sorted, workspace, "ARCHITECTURE.md crate table vs crates/*/Cargo.toml");
}
