//! `aiwaf blocklist add|remove|list`: the clients the policy refuses on every path.
//!
//! Entries are compared as blocks (`10.1.2.3/8` is `10.0.0.0/8`, `::ffff:192.0.2.1` is
//! `192.0.2.1`), the way the filter matches them, and written in that canonical spelling.

use std::path::Path;

use aiwaf_core::{BlockEntry, IpNet};
use anyhow::{anyhow, bail, Result};
use serde_json::json;

use super::fmt;
use super::json::Json;
use super::policy::Policy;
use super::{check_text, edited, unchanged, Report};

/// The reason written when `--reason` is not given: the block log then tells operator entries
/// from trained ones (`trained: …`).
const DEFAULT_REASON: &str = "manual";

/// Parses an address or block, with the core's message on failure.
pub(super) fn parse_net(text: &str) -> Result<IpNet> {
    text.parse::<IpNet>().map_err(|e| anyhow!(e))
}

/// `aiwaf blocklist add`.
pub(crate) fn add(
    path: &Path,
    ip: &str,
    reason: Option<&str>,
    ttl: Option<u64>,
    now: u64,
) -> Result<Report> {
    let net = parse_net(ip).map_err(|e| unchanged(path, e))?;
    let reason = reason.map(str::trim).unwrap_or(DEFAULT_REASON);
    check_text("--reason", reason).map_err(|e| unchanged(path, e))?;
    let expires_at = match ttl {
        None => None,
        Some(0) => return Err(unchanged(path, "--ttl must be at least 1 second")),
        Some(t) => Some(
            now.checked_add(t)
                .ok_or_else(|| unchanged(path, format!("--ttl {t} is too large")))?,
        ),
    };
    let p = Policy::load(path)?;
    let existing = p.bundle.blocklist.iter().position(|e| e.ip == net);
    if let Some(e) = existing
        .and_then(|i| p.bundle.blocklist.get(i))
        .filter(|e| !fmt::expired(e.expires_at, now))
    {
        let mut text = format!(
            "{net} is already present in the blocklist of {} ({}, {}); nothing changed\n",
            p.path.display(),
            describe_reason(e),
            fmt::expiry(e.expires_at, now)
        );
        if e.reason != reason || ttl.is_some() {
            text.push_str(&format!(
                "to change it: aiwaf blocklist remove {net} --policy {0} && aiwaf blocklist add {net} … --policy {0}\n",
                p.path.display()
            ));
        }
        return Ok(Report::ok(text));
    }
    let mut entry = vec![("ip", Json::str(&net.to_string()))];
    if !reason.is_empty() {
        entry.push(("reason", Json::str(reason)));
    }
    if let Some(t) = expires_at {
        entry.push(("expires_at", Json::uint(t)));
    }
    let mut doc = p.doc.clone();
    let items = doc
        .entry("blocklist", || Json::Array(Vec::new()))
        .and_then(Json::items_mut)
        .ok_or_else(|| anyhow!("`blocklist` is not a list"))?;
    let verb = match existing {
        Some(i) if i < items.len() => {
            items[i] = Json::object(entry);
            format!("replaced the expired entry for {net} in")
        }
        _ => {
            items.push(Json::object(entry));
            format!("added {net} to")
        }
    };
    let mut notes = p.save(&doc, now)?;
    if net.to_string() != ip.trim() {
        notes.insert(0, format!("note: `{}` is written as {net}", ip.trim()));
    }
    for ex in &p.bundle.settings.exempt_ips {
        if overlap(ex, &net) {
            notes.push(format!(
                "warning: {net} overlaps the exemption {ex} (AIWAF_EXEMPT_IPS): exempt clients skip every detector, so they are not blocked"
            ));
        }
    }
    Ok(edited(
        format!(
            "{verb} the blocklist of {} (reason `{reason}`, {})",
            p.path.display(),
            match expires_at {
                Some(t) => format!("expires in {} at {}", fmt::duration(t - now), fmt::utc(t)),
                None => "permanent".to_string(),
            }
        ),
        notes,
    ))
}

/// `aiwaf blocklist remove`: every entry for exactly this block.
pub(crate) fn remove(path: &Path, ip: &str, now: u64) -> Result<Report> {
    let net = parse_net(ip)?;
    let p = Policy::load(path)?;
    let found: Vec<usize> = (0..p.bundle.blocklist.len())
        .filter(|&i| p.bundle.blocklist[i].ip == net)
        .collect();
    if found.is_empty() {
        let mut msg = format!("{net} is not in the blocklist of {}", p.path.display());
        if let Some(e) = p
            .bundle
            .blocklist
            .iter()
            .find(|e| e.ip.contains(net.addr()))
        {
            msg.push_str(&format!(
                "; it lies in the entry {} (remove that block, or exempt the client with `aiwaf exempt ip add {net}`)",
                e.ip
            ));
        }
        bail!(msg);
    }
    let mut doc = p.doc.clone();
    if let Some(items) = doc.get_mut("blocklist").and_then(Json::items_mut) {
        for &i in found.iter().rev() {
            if i < items.len() {
                items.remove(i);
            }
        }
        if items.is_empty() {
            doc.remove("blocklist");
        }
    }
    let notes = p.save(&doc, now)?;
    let was: Vec<String> = found
        .iter()
        .filter_map(|&i| p.bundle.blocklist.get(i))
        .map(|e| format!("{}, {}", describe_reason(e), fmt::expiry(e.expires_at, now)))
        .collect();
    Ok(edited(
        format!(
            "removed {net} from the blocklist of {} (was: {})",
            p.path.display(),
            was.join("; ")
        ),
        notes,
    ))
}

/// `aiwaf blocklist list`.
pub(crate) fn list(path: &Path, as_json: bool, now: u64) -> Result<Report> {
    let p = Policy::load(path)?;
    let entries = &p.bundle.blocklist;
    if as_json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "ip": e.ip.to_string(),
                    "reason": e.reason,
                    "evidence": e.evidence,
                    "expires_at": e.expires_at,
                    "remaining_seconds": fmt::remaining(e.expires_at, now),
                    "expired": fmt::expired(e.expires_at, now),
                })
            })
            .collect();
        return Ok(Report::ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&rows)?
        )));
    }
    if entries.is_empty() {
        return Ok(Report::ok(format!(
            "no blocklist entries in {}{}\n",
            p.path.display(),
            if p.exists { "" } else { " (no such file)" }
        )));
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.ip.to_string(),
                fmt::expiry(e.expires_at, now),
                e.reason.clone(),
                e.evidence.clone(),
            ]
        })
        .collect();
    let mut text = fmt::table(&["IP", "EXPIRES", "REASON", "EVIDENCE"], &rows);
    let expired = entries
        .iter()
        .filter(|e| fmt::expired(e.expires_at, now))
        .count();
    text.push_str(&fmt::count(entries.len(), "entry", "entries"));
    if expired > 0 {
        text.push_str(&format!(
            ", {expired} expired (no longer applied; `aiwaf train` drops them)"
        ));
    }
    text.push('\n');
    Ok(Report::ok(text))
}

fn describe_reason(e: &BlockEntry) -> String {
    if e.reason.is_empty() {
        "no reason".to_string()
    } else {
        format!("reason `{}`", e.reason)
    }
}

/// True when the two blocks share an address.
pub(super) fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(b.addr()) || b.contains(a.addr())
}
