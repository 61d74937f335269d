//! Project rules that are cheap to check mechanically (run by `cargo test -p xtask`).

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf()
    }

    /// Every Rust source file of the workspace's crates (the `members` of the root manifest,
    /// so a new crate is covered without editing this list).
    fn workspace_files() -> Vec<PathBuf> {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
        let members = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("members = ["))
            .expect("a one-line `members = [...]` in Cargo.toml");
        let mut files = Vec::new();
        for dir in members.split('"').skip(1).step_by(2) {
            rust_files(&root().join(dir), &mut files);
        }
        assert!(files.len() > 20, "found only {} Rust files", files.len());
        files
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    /// Core is a pure engine: only these crates may be its normal dependencies.
    #[test]
    fn core_dependencies_are_allowlisted() {
        const ALLOWED: &[&str] = &[
            "aiwaf-core",
            "serde",
            "serde_core",
            "serde_derive",
            "serde_json",
            "serde_path_to_error",
            "regex-lite",
            "libinjectionrs",
            "bitflags",
            "smallvec",
            "itoa",
            "ryu",
            "memchr",
            "zmij",
            "proc-macro2",
            "quote",
            "syn",
            "unicode-ident",
        ];
        let out = Command::new(env!("CARGO"))
            .args([
                "tree",
                "-p",
                "aiwaf-core",
                "-e",
                "normal",
                "--prefix",
                "none",
                "--format",
                "{p}",
            ])
            .current_dir(root())
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            assert!(
                name.is_empty() || ALLOWED.contains(&name),
                "core depends on `{name}`: keep core free of I/O crates"
            );
        }
    }

    /// Core reads no clock, environment, files or network.
    #[test]
    fn core_does_no_io() {
        let mut files = Vec::new();
        rust_files(&root().join("core/src"), &mut files);
        const BANNED: &[&str] = &[
            "std::fs",
            "std::net::Tcp",
            "std::net::Udp",
            "std::env",
            "SystemTime::now",
            "Instant::now",
            "proxy_wasm",
        ];
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable");
            for banned in BANNED {
                assert!(!text.contains(banned), "{} uses {banned}", f.display());
            }
        }
    }

    /// The filter is glue; detection logic belongs in core.
    #[test]
    fn filter_stays_thin() {
        let mut files = Vec::new();
        rust_files(&root().join("filter/src"), &mut files);
        let lines: usize = files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("filter source"))
            .map(|text| text.lines().filter(|l| !l.trim().is_empty()).count())
            .sum();
        assert!(
            lines <= 420,
            "filter/src has {lines} non-blank lines (budget 420)"
        );
    }

    /// One schema: `struct Bundle` is defined once, in core.
    #[test]
    fn bundle_is_defined_once() {
        let files = workspace_files();
        let defs: Vec<_> = files
            .iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .contains(concat!("pub struct ", "Bundle "))
            })
            .collect();
        assert_eq!(defs.len(), 1, "struct Bundle defined in {defs:?}");
    }

    /// Every Rust file says what it is for, and no test hides behind should_panic or ignore.
    #[test]
    fn files_start_with_a_doc_line_and_tests_are_honest() {
        let files = workspace_files();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable");
            assert!(
                text.starts_with("//!"),
                "{} does not start with a //! line",
                f.display()
            );
            for attr in [concat!("#[should", "_panic"), concat!("#[ign", "ore")] {
                assert!(!text.contains(attr), "{} uses {attr}", f.display());
            }
        }
    }
}
