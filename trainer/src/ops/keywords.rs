//! `aiwaf keywords list|remove`: the path words `aiwaf train` learned (`learned.keywords`).
//!
//! Removing a word is the fix for a false positive found in production; training may learn it
//! again from the same traffic, so the command says how to prevent that.

use std::path::Path;

use anyhow::{bail, Result};
use serde_json::json;

use super::json::Json;
use super::policy::Policy;
use super::{edited, fmt, Report};

/// How the filter compares words (`Keywords::new` in core trims and lowercases).
fn norm(word: &str) -> String {
    word.trim().to_lowercase()
}

/// `aiwaf keywords list`.
pub(crate) fn list(path: &Path, as_json: bool, now: u64) -> Result<Report> {
    let p = Policy::load(path)?;
    let words = &p.bundle.learned.keywords;
    if as_json {
        let rows: Vec<serde_json::Value> = words
            .iter()
            .map(|k| {
                json!({
                    "word": k.word,
                    "count": k.count,
                    "clients": k.clients,
                    "expires_at": k.expires_at,
                    "remaining_seconds": fmt::remaining(k.expires_at, now),
                    "expired": fmt::expired(k.expires_at, now),
                })
            })
            .collect();
        return Ok(Report::ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&rows)?
        )));
    }
    if words.is_empty() {
        return Ok(Report::ok(format!(
            "no learned keywords in {}\n",
            p.path.display()
        )));
    }
    let rows: Vec<Vec<String>> = words
        .iter()
        .map(|k| {
            vec![
                k.word.clone(),
                k.count.to_string(),
                k.clients.to_string(),
                fmt::expiry(k.expires_at, now),
            ]
        })
        .collect();
    let mut text = fmt::table(&["WORD", "COUNT", "CLIENTS", "EXPIRES"], &rows);
    let expired = words
        .iter()
        .filter(|k| fmt::expired(k.expires_at, now))
        .count();
    text.push_str(&fmt::count(
        words.len(),
        "learned keyword",
        "learned keywords",
    ));
    if expired > 0 {
        text.push_str(&format!(", {expired} expired (not used)"));
    }
    text.push('\n');
    Ok(Report::ok(text))
}

/// `aiwaf keywords remove`: every learned entry for this word.
pub(crate) fn remove(path: &Path, word: &str, now: u64) -> Result<Report> {
    let w = norm(word);
    let p = Policy::load(path)?;
    let found: Vec<usize> = (0..p.bundle.learned.keywords.len())
        .filter(|&i| norm(&p.bundle.learned.keywords[i].word) == w)
        .collect();
    if found.is_empty() {
        let mut msg = format!("`{w}` is not a learned keyword in {}", p.path.display());
        if p.bundle
            .settings
            .malicious_keywords
            .iter()
            .any(|k| norm(k) == w)
        {
            msg.push_str(" (it is a static keyword: settings.AIWAF_MALICIOUS_KEYWORDS)");
        }
        bail!(msg);
    }
    let mut doc = p.doc.clone();
    if let Some(learned) = doc.get_mut("learned") {
        if let Some(items) = learned.get_mut("keywords").and_then(Json::items_mut) {
            for &i in found.iter().rev() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
        if learned
            .get("keywords")
            .is_some_and(Json::is_empty_container)
        {
            learned.remove("keywords");
        }
        if learned.is_empty_container() {
            doc.remove("learned");
        }
    }
    let mut notes = p.save(&doc, now)?;
    notes.push(format!(
        "note: `aiwaf train` may learn `{w}` again; adding it to settings.AIWAF_ALLOWED_PATH_KEYWORDS prevents that"
    ));
    Ok(edited(
        format!("removed learned keyword `{w}` from {}", p.path.display()),
        notes,
    ))
}
