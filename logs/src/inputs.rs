//! `LOG...` arguments → the files to read: directories (their regular, non-hidden files, not
//! recursive), globs (`*`, `?`, `[...]` in any path component) and plain files; the result is
//! ordered so that each rotated set is read oldest first.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

/// Expands the arguments; an argument that names nothing is an error (a typo should not train
/// on nothing). Duplicates are dropped. Order: files are grouped by directory and rotated-set
/// base name (`access.log`, `access.log.1`, `access.log.2.gz` share the base `access.log`);
/// within a set the highest number comes first and the base file last (`.10`, `.9`, …, `.1`,
/// base), i.e. oldest first for logrotate's numbering; with `dateext` names
/// (`access.log-20261101.gz`) the oldest date first, the base file last.
pub fn expand_inputs(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for arg in args {
        let before = files.len();
        if arg.is_dir() {
            list_dir(arg, &mut files)?;
        } else if arg.is_file() {
            files.push(arg.clone());
        } else if has_glob(&arg.to_string_lossy()) {
            for p in glob(arg)? {
                if p.is_dir() {
                    list_dir(&p, &mut files)?;
                } else if p.is_file() {
                    files.push(p);
                }
            }
            if files.len() == before {
                bail!("{}: no file matches", arg.display());
            }
        } else {
            bail!("{}: no such file or directory", arg.display());
        }
    }
    files.sort_by(|a, b| rotation_key(a).cmp(&rotation_key(b)).then_with(|| a.cmp(b)));
    files.dedup();
    Ok(files)
}

fn list_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let path = entry.path();
        if !hidden && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// (directory, base name, reverse rank): the base file has rank 0, `.N` and `.N.gz` rank N.
fn rotation_key(p: &Path) -> (PathBuf, String, std::cmp::Reverse<u64>) {
    let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (base, rank) = split_rotation(&name);
    (dir, base.to_owned(), std::cmp::Reverse(rank))
}

/// `access.log.3.gz` → (`access.log`, 3); `access.log` → (`access.log`, 0); logrotate's
/// `dateext` (`access.log-20261101[.gz]`) → (`access.log`, u64::MAX - date), so that the oldest
/// date sorts first and the base file last.
pub fn split_rotation(name: &str) -> (&str, u64) {
    let stem = name.strip_suffix(".gz").unwrap_or(name);
    if let Some((base, date)) = stem.rsplit_once('-') {
        if !base.is_empty()
            && (8..=10).contains(&date.len())
            && date.bytes().all(|c| c.is_ascii_digit())
        {
            return (base, u64::MAX - date.parse::<u64>().unwrap_or(0));
        }
    }
    if let Some((base, n)) = stem.rsplit_once('.') {
        if !base.is_empty()
            && !n.is_empty()
            && n.len() <= 9
            && n.bytes().all(|c| c.is_ascii_digit())
        {
            return (base, n.parse().unwrap_or(0));
        }
    }
    (name, 0)
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a glob component by component (no `**`).
fn glob(pattern: &Path) -> Result<Vec<PathBuf>> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &current {
            if has_glob(&part) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| {
                        (!n.starts_with('.') || part.starts_with('.'))
                            && wildcard(part.as_bytes(), n.as_bytes())
                    })
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                next.push(base.join(comp.as_os_str()));
            }
        }
        current = next;
    }
    Ok(current.into_iter().filter(|p| p.exists()).collect())
}

/// Shell wildcard match of one name: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(pi + 1),
            Some(b'[') => class(&p[pi..], s[si])
                .map(|(ok, len)| (ok, pi + len))
                .and_then(|(ok, n)| ok.then_some(n)),
            Some(&c) if c == s[si] => Some(pi + 1),
            _ => None,
        };
        match (step, star) {
            (Some(n), _) => {
                pi = n;
                si += 1;
            }
            (None, Some((sp, ss))) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// `[...]` at the start of `p`: (matches, length of the class), or None if unterminated.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() && (p[i] != b']' || first) {
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            hit |= (p[i]..=p[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((hit != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"access.log*", b"access.log.2.gz"));
        assert!(wildcard(b"*.log", b"a.log"));
        assert!(!wildcard(b"*.log", b"a.log.1"));
        assert!(wildcard(b"a?c", b"abc"));
        assert!(wildcard(b"a[0-9]", b"a7"));
        assert!(!wildcard(b"a[!0-9]", b"a7"));
        assert_eq!(split_rotation("access.log.10.gz"), ("access.log", 10));
        assert_eq!(split_rotation("access.log"), ("access.log", 0));
        assert_eq!(
            split_rotation("access.log-20261101.gz"),
            ("access.log", u64::MAX - 20_261_101)
        );
        let mut names = [
            "access.log",
            "access.log-20261102",
            "access.log-20261101.gz",
        ]
        .map(Path::new);
        names.sort_by_key(|p| rotation_key(p));
        assert_eq!(
            names.map(|p| p.to_str().unwrap()),
            [
                "access.log-20261101.gz",
                "access.log-20261102",
                "access.log"
            ]
        );
    }
}
