//! Shared by the release-flow test binaries: run the `repo-tool` binary, and copy or
//! compare directory trees.

#![allow(dead_code)] // each test binary uses only some of these

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

pub fn repo_tool(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = repo_tool(dir, args);
    assert!(
        out.status.success(),
        "repo-tool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = repo_tool(dir, args);
    assert_eq!(out.status.code(), Some(1), "repo-tool {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// Every file below `dir` with its content, to prove a command changed nothing.
pub fn snapshot_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

pub fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot_tree(from) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}
