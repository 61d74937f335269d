//! `aiwaf reset`: start over after a bad training or an incident, without hand-editing JSON.
//!
//! It removes whole sections (the blocklist, the learned keywords, the two exemption lists), so
//! it refuses without `--confirm` and lists what it would remove. Exemption lists are removed
//! from the file, which brings back the defaults (AIWAF_EXEMPT_PATHS has a default list). The
//! anomaly model and every other setting are kept.

use anyhow::{bail, Result};

use super::policy::Policy;
use super::{edited, fmt, Report, ResetArgs};

/// `aiwaf reset`.
pub(crate) fn run(args: &ResetArgs, now: u64) -> Result<Report> {
    let all = !(args.blocklist || args.keywords || args.exemptions);
    let p = Policy::load(&args.policy.policy)?;
    let b = &p.bundle;
    let mut doc = p.doc.clone();
    let mut removed = Vec::new();
    if (all || args.blocklist) && doc.remove("blocklist") {
        removed.push(format!(
            "blocklist: {} (operator and trained)",
            fmt::count(b.blocklist.len(), "entry", "entries")
        ));
    }
    if all || args.keywords {
        if let Some(learned) = doc.get_mut("learned") {
            if learned.remove("keywords") {
                removed.push(format!(
                    "learned.keywords: {}",
                    fmt::count(b.learned.keywords.len(), "word", "words")
                ));
            }
            if learned.is_empty_container() {
                doc.remove("learned");
            }
        }
    }
    if all || args.exemptions {
        let defaults = aiwaf_core::Settings::default();
        let lists = [
            (
                "AIWAF_EXEMPT_IPS",
                b.settings.exempt_ips.len(),
                defaults.exempt_ips.len(),
            ),
            (
                "AIWAF_EXEMPT_PATHS",
                b.settings.exempt_paths.len(),
                defaults.exempt_paths.len(),
            ),
        ];
        if let Some(settings) = doc.get_mut("settings") {
            for (key, n, default) in lists {
                if settings.remove(key) {
                    removed.push(format!(
                        "settings.{key}: {} (back to the default: {})",
                        fmt::count(n, "entry", "entries"),
                        match default {
                            0 => "none".to_string(),
                            d => fmt::count(d, "entry", "entries"),
                        }
                    ));
                }
            }
            if settings.is_empty_container() {
                doc.remove("settings");
            }
        }
    }
    let path = p.path.display();
    if removed.is_empty() {
        return Ok(Report::ok(format!("nothing to reset in {path}\n")));
    }
    let list: String = removed.iter().map(|r| format!("\n  {r}")).collect();
    if !args.confirm {
        bail!("reset refused without --confirm; it would remove from {path}:{list}");
    }
    let mut notes = p.save(&doc, now)?;
    if (all || args.keywords) && b.learned.model.is_some() {
        notes.push("note: the anomaly model (learned.model) is kept".to_string());
    }
    Ok(edited(format!("reset {path}: removed{list}"), notes))
}
