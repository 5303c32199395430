#!/usr/bin/env python3
"""Checks that the wheel's build reuses the workspace build's compiled dependencies.

`cargo test --workspace --all-features` resolves the features of shared dependencies over every
member and their dev-dependencies; maturin builds the extension crate (python/) alone, so a
dependency that other members use with more features would be compiled a second time, and with
it everything above it (the whole tract stack). python/Cargo.toml pins those features; this script
compares the two resolutions with `cargo tree` and names what to add when they drift.

Run from anywhere in the repository: python3 scripts/python-features.py (exit 1 on a mismatch).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

REPO = Path(__file__).resolve().parents[1]
CRATE = "microcue_python"

Unit = Tuple[str, Tuple[str, ...]]


def resolved(selection: List[str]) -> Set[Unit]:
    """(package, features) of every non-workspace package in the build of `selection`."""
    command = ["cargo", "tree", "--quiet", "--prefix", "none", "--format", "{p}|{f}", *selection]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"python-features: error: `{' '.join(command)}` failed:\n{result.stderr.strip()}")
    units: Set[Unit] = set()
    for line in result.stdout.splitlines():
        package, bar, features = line.replace(" (*)", "").partition("|")
        # Workspace members are compiled again anyway (their own features differ by design).
        if not bar or f"({REPO}" in package:
            continue
        units.add((package.strip(), tuple(sorted(f for f in features.split(",") if f))))
    return units


def main() -> None:
    workspace = resolved(["--workspace", "--all-features", "--edges", "normal,build,dev"])
    wheel = resolved(["--package", CRATE, "--edges", "normal,build"])
    missing = sorted(wheel - workspace)
    if not missing:
        print(f"python-features: {CRATE} resolves its {len(wheel)} dependencies as the workspace build does")
        return
    by_package: Dict[str, Set[str]] = {}
    for package, _ in missing:
        for other, features in workspace:
            if other == package:
                by_package.setdefault(package, set()).update(features)
    lines = []
    for package, features in missing:
        wanted = sorted(by_package.get(package, set()) - set(features))
        lines.append(f"  {package}: the workspace build adds {wanted or '(nothing: a version the workspace does not build)'}")
    sys.exit(
        f"python-features: error: the wheel's build would compile {len(missing)} dependencies again, with "
        "features other than `cargo test --workspace --all-features` uses:\n"
        + "\n".join(lines)
        + f"\nhint: add them with those features to python/Cargo.toml's pinned list ([build-dependencies] "
        "for a crate that only proc-macros or build scripts use, such as syn), then run this again"
    )


if __name__ == "__main__":
    main()
