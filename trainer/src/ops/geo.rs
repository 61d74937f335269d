//! `aiwaf geo block|allow add|remove|list`: AIWAF_GEO_BLOCK_COUNTRIES and
//! AIWAF_GEO_ALLOW_COUNTRIES.
//!
//! The filter cannot read a GeoIP database; the lists only take effect once the bundle is
//! compiled with `--geoip DB.mmdb` (the table must match the lists, or the filter refuses the
//! bundle) and AIWAF_GEO_BLOCK_ENABLED is true. Every change says so, and whether it is.

use std::path::Path;

use aiwaf_core::Settings;
use anyhow::{bail, Result};
use serde_json::json;

use super::json::Json;
use super::policy::Policy;
use super::{edited, fmt, unchanged, Report};

/// Which country list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    /// AIWAF_GEO_BLOCK_COUNTRIES.
    Block,
    /// AIWAF_GEO_ALLOW_COUNTRIES.
    Allow,
}

impl List {
    fn key(self) -> &'static str {
        match self {
            List::Block => "AIWAF_GEO_BLOCK_COUNTRIES",
            List::Allow => "AIWAF_GEO_ALLOW_COUNTRIES",
        }
    }

    fn current(self, s: &Settings) -> &[String] {
        match self {
            List::Block => &s.geo_block_countries,
            List::Allow => &s.geo_allow_countries,
        }
    }
}

/// A two-letter code, uppercase (the filter's spelling), or why not.
fn parse_code(code: &str) -> Result<String> {
    let c = code.trim().to_ascii_uppercase();
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        bail!(
            "`{}` is not a two-letter country code (ISO 3166-1 alpha-2, such as CN or DE)",
            code.trim()
        );
    }
    Ok(c)
}

/// The code of a stored entry as the filter compares it.
fn norm(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// `aiwaf geo block|allow add`.
pub(crate) fn add(list: List, path: &Path, code: &str, now: u64) -> Result<Report> {
    let c = parse_code(code).map_err(|e| unchanged(path, e))?;
    let p = Policy::load(path)?;
    let current = list.current(&p.bundle.settings).to_vec();
    if current.iter().any(|x| norm(x) == c) {
        return Ok(Report::ok(format!(
            "{c} is already present in {} of {}; nothing changed\n",
            list.key(),
            p.path.display()
        )));
    }
    let mut doc = p.doc.clone();
    Policy::settings_list(&mut doc, list.key(), &current)?.push(Json::str(&c));
    let notes = p.save(&doc, now)?;
    Ok(edited(
        format!("added {c} to {} in {}", list.key(), p.path.display()),
        after_change(list, &p, notes),
    ))
}

/// `aiwaf geo block|allow remove`.
pub(crate) fn remove(list: List, path: &Path, code: &str, now: u64) -> Result<Report> {
    let c = parse_code(code)?;
    let p = Policy::load(path)?;
    let current = list.current(&p.bundle.settings).to_vec();
    let found: Vec<usize> = (0..current.len())
        .filter(|&i| norm(&current[i]) == c)
        .collect();
    if found.is_empty() {
        bail!("{c} is not in {} of {}", list.key(), p.path.display());
    }
    let mut doc = p.doc.clone();
    let items = Policy::settings_list(&mut doc, list.key(), &current)?;
    for &i in found.iter().rev() {
        if i < items.len() {
            items.remove(i);
        }
    }
    let notes = p.save(&doc, now)?;
    Ok(edited(
        format!("removed {c} from {} in {}", list.key(), p.path.display()),
        after_change(list, &p, notes),
    ))
}

/// What an operator must know after a geo change: recompile, and whether it is enabled.
fn after_change(list: List, p: &Policy, mut notes: Vec<String>) -> Vec<String> {
    let s = &p.bundle.settings;
    notes.push(format!(
        "next: recompile the bundle with the country table, e.g. `aiwaf bundle --policy {} --geoip DB.mmdb --out BUNDLE.json` (a table compiled for other lists is refused by the filter)",
        p.path.display()
    ));
    notes.push(if s.geo_block_enabled {
        "settings.AIWAF_GEO_BLOCK_ENABLED is true: the lists apply once the bundle is recompiled".to_string()
    } else {
        "warning: settings.AIWAF_GEO_BLOCK_ENABLED is false: no country is refused until it is set to true".to_string()
    });
    if list == List::Block && !s.geo_allow_countries.is_empty() {
        notes.push(
            "warning: AIWAF_GEO_ALLOW_COUNTRIES is not empty and wins: the block list is not used"
                .to_string(),
        );
    }
    notes
}

/// `aiwaf geo block|allow list`.
pub(crate) fn list(list: List, path: &Path, as_json: bool) -> Result<Report> {
    let p = Policy::load(path)?;
    let s = &p.bundle.settings;
    let codes: Vec<String> = list.current(s).iter().map(|c| norm(c)).collect();
    if as_json {
        let v = json!({
            "key": list.key(),
            "entries": codes,
            "enabled": s.geo_block_enabled,
            "compiled_table": p.bundle.geoip.is_some(),
        });
        return Ok(Report::ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v)?
        )));
    }
    let mut text = if codes.is_empty() {
        format!("{}: none\n", list.key())
    } else {
        let rows: Vec<Vec<String>> = codes.iter().map(|c| vec![c.clone()]).collect();
        let mut t = fmt::table(&["COUNTRY"], &rows);
        t.push_str(&format!(
            "{} in {}\n",
            fmt::count(codes.len(), "country", "countries"),
            list.key()
        ));
        t
    };
    text.push_str(&format!(
        "AIWAF_GEO_BLOCK_ENABLED is {}; {}\n",
        s.geo_block_enabled,
        if p.bundle.geoip.is_some() {
            "the file has a compiled country table"
        } else {
            "the file has no compiled country table (`--geoip`)"
        }
    ));
    Ok(Report::ok(text))
}
