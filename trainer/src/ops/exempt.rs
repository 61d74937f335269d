//! `aiwaf exempt ip|path add|remove|list`: AIWAF_EXEMPT_IPS and AIWAF_EXEMPT_PATHS.
//!
//! Entries compare as the filter applies them: addresses as blocks, paths after the filter's
//! normalisation (`/Health/` is `/health`). While a list is not written in the policy the
//! default applies, so the first edit writes the default plus (or minus) the entry: adding
//! `/metrics` never silently drops `/static/`. `--reason` has no place in the schema (an
//! exemption is a bare string); it is printed back and not stored, rather than invented as a
//! key the filter would refuse.

use std::path::Path;

use aiwaf_core::{normalize_path, Bundle, Settings};
use anyhow::{bail, Result};
use serde_json::json;

use super::blocklist::{overlap, parse_net};
use super::json::Json;
use super::policy::Policy;
use super::{check_text, edited, fmt, unchanged, Report};

/// Which exemption list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// AIWAF_EXEMPT_IPS.
    Ip,
    /// AIWAF_EXEMPT_PATHS.
    Path,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Ip => "AIWAF_EXEMPT_IPS",
            Kind::Path => "AIWAF_EXEMPT_PATHS",
        }
    }

    /// The list in force, as strings.
    fn current(self, bundle: &Bundle) -> Vec<String> {
        list_of(self, &bundle.settings)
    }

    /// The canonical form of a command-line entry and its comparison key, or why it is invalid.
    fn parse(self, entry: &str) -> Result<(String, String)> {
        match self {
            Kind::Ip => {
                let net = parse_net(entry)?;
                Ok((net.to_string(), net.to_string()))
            }
            Kind::Path => {
                let p = entry.trim();
                if !p.starts_with('/') {
                    bail!("`{p}` is not a path prefix: it must start with `/`");
                }
                check_text("a path prefix", p)?;
                Ok((p.to_string(), path_key(p)))
            }
        }
    }

    /// The comparison key of a stored entry.
    fn key_of(self, stored: &str) -> String {
        match self {
            Kind::Ip => parse_net(stored).map_or_else(|_| stored.to_string(), |n| n.to_string()),
            Kind::Path => path_key(stored),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Ip => "client",
            Kind::Path => "path",
        }
    }
}

fn list_of(kind: Kind, s: &Settings) -> Vec<String> {
    match kind {
        Kind::Ip => s.exempt_ips.iter().map(ToString::to_string).collect(),
        Kind::Path => s.exempt_paths.clone(),
    }
}

/// A path prefix as the filter matches it (normalised, no trailing `/`, `/` covers all).
fn path_key(p: &str) -> String {
    normalize_path(p).path
}

/// `aiwaf exempt ip|path add`.
pub(crate) fn add(
    kind: Kind,
    path: &Path,
    entry: &str,
    reason: Option<&str>,
    now: u64,
) -> Result<Report> {
    let (value, key) = kind.parse(entry).map_err(|e| unchanged(path, e))?;
    let p = Policy::load(path)?;
    let current = kind.current(&p.bundle);
    let reason_note = reason.map(|r| {
        format!(
            "note: reason `{}` is not stored: {} holds bare entries, with no place for a reason",
            r.trim(),
            kind.key()
        )
    });
    if let Some(existing) = current.iter().find(|c| kind.key_of(c) == key) {
        let mut text = format!(
            "{value} is already exempt ({} has `{existing}`) in {}; nothing changed\n",
            kind.key(),
            p.path.display()
        );
        if let Some(n) = reason_note {
            text.push_str(&n);
            text.push('\n');
        }
        return Ok(Report::ok(text));
    }
    let mut doc = p.doc.clone();
    Policy::settings_list(&mut doc, kind.key(), &current)?.push(Json::str(&value));
    let mut notes = p.save(&doc, now)?;
    notes.extend(reason_note);
    if kind == Kind::Ip {
        let net = parse_net(&value)?;
        for e in &p.bundle.blocklist {
            if overlap(&e.ip, &net) {
                notes.push(format!(
                    "warning: the blocklist entry {} overlaps {net}: exempt clients skip every detector, the blocklist included",
                    e.ip
                ));
            }
        }
    }
    let from_default = p
        .doc
        .get("settings")
        .and_then(|s| s.get(kind.key()))
        .is_none()
        && !current.is_empty();
    let mut head = format!(
        "added {} exemption {value} to {} in {}",
        kind.noun(),
        kind.key(),
        p.path.display()
    );
    if from_default {
        head.push_str(&format!(
            " (the list was not set: written as the default {} plus {value})",
            current.join(", ")
        ));
    }
    Ok(edited(head, notes))
}

/// `aiwaf exempt ip|path remove`: every entry equal to this one as the filter compares them.
pub(crate) fn remove(kind: Kind, path: &Path, entry: &str, now: u64) -> Result<Report> {
    let (value, key) = kind.parse(entry)?;
    let p = Policy::load(path)?;
    let current = kind.current(&p.bundle);
    let found: Vec<usize> = (0..current.len())
        .filter(|&i| kind.key_of(&current[i]) == key)
        .collect();
    if found.is_empty() {
        let mut msg = format!("{value} is not in {} of {}", kind.key(), p.path.display());
        if kind == Kind::Ip {
            let net = parse_net(&value)?;
            if let Some(wide) = p
                .bundle
                .settings
                .exempt_ips
                .iter()
                .find(|e| e.contains(net.addr()))
            {
                msg.push_str(&format!("; it lies in the exemption {wide}"));
            }
        }
        bail!(msg);
    }
    let mut doc = p.doc.clone();
    let items = Policy::settings_list(&mut doc, kind.key(), &current)?;
    for &i in found.iter().rev() {
        if i < items.len() {
            items.remove(i);
        }
    }
    let notes = p.save(&doc, now)?;
    let removed: Vec<&str> = found
        .iter()
        .filter_map(|&i| current.get(i))
        .map(String::as_str)
        .collect();
    Ok(edited(
        format!(
            "removed {} exemption {} from {} in {}",
            kind.noun(),
            removed.join(", "),
            kind.key(),
            p.path.display()
        ),
        notes,
    ))
}

/// `aiwaf exempt ip|path list`.
pub(crate) fn list(kind: Kind, path: &Path, as_json: bool) -> Result<Report> {
    let p = Policy::load(path)?;
    let current = kind.current(&p.bundle);
    let set = p
        .doc
        .get("settings")
        .and_then(|s| s.get(kind.key()))
        .is_some();
    if as_json {
        let v = json!({"key": kind.key(), "set": set, "entries": current});
        return Ok(Report::ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v)?
        )));
    }
    let origin = if set {
        format!("set in {}", p.path.display())
    } else {
        format!("not set in {}: the default applies", p.path.display())
    };
    if current.is_empty() {
        return Ok(Report::ok(format!("{}: none ({origin})\n", kind.key())));
    }
    let header = match kind {
        Kind::Ip => "CLIENT",
        Kind::Path => "PATH PREFIX",
    };
    let rows: Vec<Vec<String>> = current.iter().map(|c| vec![c.clone()]).collect();
    let mut text = fmt::table(&[header], &rows);
    text.push_str(&format!(
        "{} in {} ({origin})\n",
        fmt::count(current.len(), "entry", "entries"),
        kind.key()
    ));
    Ok(Report::ok(text))
}
