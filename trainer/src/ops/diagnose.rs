//! `aiwaf diagnose`: is this policy (and the bundle built from it) what the operator thinks?
//!
//! Each file is checked with the filter's own code (`Bundle::from_json` + `Engine::new`), then
//! described: what is enforced (`Engine::summary`), sizes, the model and its age, learned items
//! that expired or expire within a day, and warnings about a valid policy that probably does
//! not do what was meant (`Engine::warnings` plus the geo, expiry and overlap checks below, and
//! policy-versus-bundle drift). The exit code is 1 when a file is refused, naming the key.

use std::path::Path;

use aiwaf_core::{normalize_countries, Bundle, Engine};
use anyhow::Result;
use serde_json::{json, Value};

use super::blocklist::overlap;
use super::policy::check_policy;
use super::{fmt, DiagnoseArgs, Report};

/// Items listed by name under "expiring within 24 h" before the rest is counted.
const SHOWN: usize = 10;

/// Which file a report is about: a policy may still need its country table compiled in, a
/// bundle is loaded by the filter as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Policy,
    Bundle,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Policy => "policy",
            Role::Bundle => "bundle",
        }
    }
}

/// Everything found out about one file.
struct FileReport {
    role: Role,
    path: String,
    exists: bool,
    bytes: u64,
    /// The parsed bundle, when the loader accepted the JSON.
    bundle: Option<Bundle>,
    /// Why the file is refused: the key (empty for the whole document) and the message.
    error: Option<(Option<String>, String)>,
    summary: Vec<(String, String)>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

/// `aiwaf diagnose`.
pub(crate) fn run(args: &DiagnoseArgs, now: u64) -> Result<Report> {
    let mut files = vec![examine(Role::Policy, &args.policy, now)];
    if let Some(b) = &args.bundle {
        files.push(examine(Role::Bundle, b, now));
    }
    let cross = match (
        files.first().and_then(|f| f.bundle.as_ref()),
        files.get(1).and_then(|f| f.bundle.as_ref()),
    ) {
        (Some(p), Some(b)) => drift(p, b, now),
        _ => Vec::new(),
    };
    let ok = files.iter().all(|f| f.error.is_none());
    let text = if args.json {
        let v = json!({
            "valid": ok,
            "files": files.iter().map(|f| to_json(f, now)).collect::<Vec<_>>(),
            "warnings": cross,
        });
        format!("{}\n", serde_json::to_string_pretty(&v)?)
    } else {
        let mut t: String = files.iter().map(|f| to_text(f, now)).collect();
        for w in &cross {
            t.push_str(&format!("warning: {w}\n"));
        }
        let refused = files.iter().filter(|f| f.error.is_some()).count();
        if refused > 0 {
            t.push_str(&format!("refused: {refused} of {} files\n", files.len()));
        }
        t
    };
    Ok(Report { text, ok })
}

fn examine(role: Role, path: &Path, now: u64) -> FileReport {
    let mut r = FileReport {
        role,
        path: path.display().to_string(),
        exists: true,
        bytes: 0,
        bundle: None,
        error: None,
        summary: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && role == Role::Policy => {
            r.exists = false;
            r.notes
                .push("note: no such file: counts as `{}` (AIWAF defaults)".to_string());
            b"{}".to_vec()
        }
        Err(e) => {
            r.exists = e.kind() != std::io::ErrorKind::NotFound;
            r.error = Some((None, format!("cannot read: {e}")));
            return r;
        }
    };
    if r.exists {
        r.bytes = bytes.len() as u64;
    }
    let bundle = match Bundle::from_json(&bytes) {
        Ok(b) => b,
        Err(e) => {
            r.error = Some((e.key().map(str::to_string), e.to_string()));
            return r;
        }
    };
    let checked = match role {
        Role::Policy => check_policy(&bundle, now),
        Role::Bundle => Engine::new(&bundle, now).map(|e| (e, Vec::new())),
    };
    match checked {
        Ok((engine, notes)) => {
            r.summary = engine.summary();
            r.notes.extend(notes);
            r.warnings = engine.warnings();
            r.warnings.extend(own_warnings(&bundle, now));
        }
        Err(e) => r.error = Some((e.key().map(str::to_string), e.to_string())),
    }
    r.bundle = Some(bundle);
    r
}

/// Valid but probably not meant: geo settings that do nothing, expired items, exemptions that
/// cancel blocklist entries, a model that is not used, duplicates.
fn own_warnings(b: &Bundle, now: u64) -> Vec<String> {
    let s = &b.settings;
    let mut w = Vec::new();
    let lists_set = !s.geo_block_countries.is_empty() || !s.geo_allow_countries.is_empty();
    if lists_set && !s.geo_block_enabled {
        w.push(format!(
            "AIWAF_GEO_BLOCK_COUNTRIES / AIWAF_GEO_ALLOW_COUNTRIES are set but AIWAF_GEO_BLOCK_ENABLED is false: no country is refused{}",
            if b.geoip.is_none() {
                "; the file has no `geoip` table either (compile with --geoip)"
            } else {
                ""
            }
        ));
    }
    if s.geo_block_enabled && !lists_set {
        w.push("AIWAF_GEO_BLOCK_ENABLED is true but both country lists are empty: no country is refused".to_string());
    }
    if let Some(t) = &b.geoip {
        if !s.geo_block_enabled {
            w.push(
                "the file has a `geoip` table but AIWAF_GEO_BLOCK_ENABLED is false: it is not used"
                    .to_string(),
            );
        }
        if compiled_for(t) != lists(s) {
            w.push("the `geoip` table was compiled for other country lists than the settings': recompile with --geoip".to_string());
        }
    }
    let expired = b
        .blocklist
        .iter()
        .filter(|e| fmt::expired(e.expires_at, now))
        .count();
    if expired > 0 {
        w.push(format!(
            "expired blocklist entries: {expired} (no longer applied; `aiwaf train` drops them, `aiwaf blocklist remove` tidies by hand)"
        ));
    }
    let expired = b
        .learned
        .keywords
        .iter()
        .filter(|k| fmt::expired(k.expires_at, now))
        .count();
    if expired > 0 {
        w.push(format!("expired learned keywords: {expired} (not used)"));
    }
    for e in &b.blocklist {
        if let Some(x) = s.exempt_ips.iter().find(|x| overlap(x, &e.ip)) {
            w.push(format!(
                "blocklist entry {} overlaps the exemption {x} (AIWAF_EXEMPT_IPS): exempt clients are never blocked",
                e.ip
            ));
        }
    }
    for (i, e) in b.blocklist.iter().enumerate() {
        if b.blocklist[..i].iter().any(|d| d.ip == e.ip) {
            w.push(format!("blocklist entry {} is listed more than once", e.ip));
        }
    }
    if b.learned.model.is_some() && s.disable_ai {
        w.push(
            "the file has an anomaly model but AIWAF_DISABLE_AI is true: it is checked, not used"
                .to_string(),
        );
    }
    w
}

/// The settings' country lists, normalised as the table records them.
fn lists(s: &aiwaf_core::Settings) -> (Vec<String>, Vec<String>) {
    (
        normalize_countries(&s.geo_allow_countries).unwrap_or_default(),
        normalize_countries(&s.geo_block_countries).unwrap_or_default(),
    )
}

/// The lists a table was compiled for.
fn compiled_for(t: &aiwaf_core::GeoTable) -> (Vec<String>, Vec<String>) {
    (
        normalize_countries(&t.allow).unwrap_or_default(),
        normalize_countries(&t.block).unwrap_or_default(),
    )
}

/// The bundle no longer reflects the policy: it must be rebuilt for the edits to apply.
fn drift(policy: &Bundle, bundle: &Bundle, now: u64) -> Vec<String> {
    let mut w = Vec::new();
    if policy.settings != bundle.settings {
        w.push("the bundle's settings differ from the policy's: rebuild the bundle from the policy (`aiwaf bundle` or `aiwaf train`)".to_string());
    }
    let (allow, block) = lists(&policy.settings);
    if !allow.is_empty() || !block.is_empty() {
        match &bundle.geoip {
            None => w.push("the policy sets country lists but the bundle has no `geoip` table: rebuild it with --geoip DB.mmdb".to_string()),
            Some(t) if compiled_for(t) != (allow, block) => w.push("the bundle's `geoip` table was compiled for other country lists than the policy's: rebuild it with --geoip DB.mmdb".to_string()),
            Some(_) => {}
        }
    }
    let missing: Vec<String> = policy
        .blocklist
        .iter()
        .filter(|e| !fmt::expired(e.expires_at, now))
        .filter(|e| !bundle.blocklist.iter().any(|x| x.ip == e.ip))
        .map(|e| e.ip.to_string())
        .collect();
    if !missing.is_empty() {
        w.push(format!(
            "{} blocklist entries of the policy are not in the bundle ({}): rebuild the bundle",
            missing.len(),
            shorten(&missing)
        ));
    }
    w
}

fn shorten(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(", … {} more", items.len() - SHOWN));
    }
    s
}

/// Counts of one kind of expiring item.
struct Expiry {
    total: usize,
    permanent: usize,
    expired: usize,
    soon: Vec<String>,
}

fn expiry<'a>(items: impl Iterator<Item = (String, Option<u64>)> + 'a, now: u64) -> Expiry {
    let mut e = Expiry {
        total: 0,
        permanent: 0,
        expired: 0,
        soon: Vec::new(),
    };
    for (name, at) in items {
        e.total += 1;
        if at.is_none() {
            e.permanent += 1;
        } else if fmt::expired(at, now) {
            e.expired += 1;
        } else if fmt::expiring_soon(at, now) {
            e.soon.push(format!("{name} ({})", fmt::expiry(at, now)));
        }
    }
    e
}

fn blocklist_expiry(b: &Bundle, now: u64) -> Expiry {
    expiry(
        b.blocklist.iter().map(|e| (e.ip.to_string(), e.expires_at)),
        now,
    )
}

fn keyword_expiry(b: &Bundle, now: u64) -> Expiry {
    expiry(
        b.learned
            .keywords
            .iter()
            .map(|k| (k.word.clone(), k.expires_at)),
        now,
    )
}

fn model_json_bytes(b: &Bundle) -> u64 {
    b.learned
        .model
        .as_ref()
        .and_then(|m| serde_json::to_vec(m).ok())
        .map_or(0, |v| v.len() as u64)
}

fn geo_ranges(b: &Bundle) -> usize {
    b.geoip.as_ref().map_or(0, |t| t.v4.len() + t.v6.len())
}

fn to_json(f: &FileReport, now: u64) -> Value {
    let mut v = json!({
        "role": f.role.name(),
        "path": f.path,
        "exists": f.exists,
        "bytes": f.bytes,
        "valid": f.error.is_none(),
        "error": f.error.as_ref().map(|(key, message)| json!({"key": key, "message": message})),
        "notes": f.notes,
        "warnings": f.warnings,
    });
    let (Some(b), Some(obj)) = (&f.bundle, v.as_object_mut()) else {
        return v;
    };
    let summary: serde_json::Map<String, Value> = f
        .summary
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let ex = |e: Expiry| {
        json!({"total": e.total, "permanent": e.permanent, "expired": e.expired,
               "expiring_within_24h": e.soon})
    };
    obj.insert("summary".into(), Value::Object(summary));
    obj.insert(
        "sizes".into(),
        json!({
            "file_bytes": f.bytes,
            "blocklist_entries": b.blocklist.len(),
            "learned_keywords": b.learned.keywords.len(),
            "model_trees": b.learned.model.as_ref().map_or(0, |m| m.forest.trees.len()),
            "model_json_bytes": model_json_bytes(b),
            "geo_ranges": geo_ranges(b),
        }),
    );
    obj.insert(
        "model".into(),
        b.learned.model.as_ref().map_or(Value::Null, |m| {
            json!({
                "trees": m.forest.trees.len(),
                "samples": m.samples,
                "trained_at": m.trained_at,
                "age_seconds": now.saturating_sub(m.trained_at),
                "threshold": m.forest.threshold,
                "used": !b.settings.disable_ai,
            })
        }),
    );
    obj.insert(
        "expiry".into(),
        json!({"blocklist": ex(blocklist_expiry(b, now)), "keywords": ex(keyword_expiry(b, now))}),
    );
    v
}

fn to_text(f: &FileReport, now: u64) -> String {
    let size = if f.exists {
        fmt::bytes(f.bytes)
    } else {
        "missing".to_string()
    };
    let mut t = match &f.error {
        Some((_, message)) => format!(
            "{} {}: REFUSED ({size}): {message}\n",
            f.role.name(),
            f.path
        ),
        None => format!("{} {}: valid ({size})\n", f.role.name(), f.path),
    };
    if let (None, Some(b)) = (&f.error, &f.bundle) {
        t.push_str("  enabled:\n");
        t.push_str(&fmt::pairs(&f.summary, 4));
        t.push_str("  sizes:\n");
        let bl = blocklist_expiry(b, now);
        let kw = keyword_expiry(b, now);
        let sizes = vec![
            ("file".to_string(), size.clone()),
            (
                "blocklist".to_string(),
                format!(
                    "{} ({} permanent, {} expired)",
                    fmt::count(bl.total, "entry", "entries"),
                    bl.permanent,
                    bl.expired
                ),
            ),
            ("learned keywords".to_string(), kw.total.to_string()),
            (
                "model".to_string(),
                match &b.learned.model {
                    None => "none".to_string(),
                    Some(m) => format!(
                        "{} trees, {} of JSON",
                        m.forest.trees.len(),
                        fmt::bytes(model_json_bytes(b))
                    ),
                },
            ),
            (
                "geo table".to_string(),
                match &b.geoip {
                    None => "none".to_string(),
                    Some(g) => format!(
                        "{} ranges, {} countries ({})",
                        geo_ranges(b),
                        g.countries.len(),
                        if g.source.is_empty() {
                            "unknown source"
                        } else {
                            &g.source
                        }
                    ),
                },
            ),
        ];
        t.push_str(&fmt::pairs(&sizes, 4));
        if let Some(m) = &b.learned.model {
            t.push_str(&format!(
                "  model: trained {} ({} ago) on {} samples, threshold {:.3}{}\n",
                fmt::utc(m.trained_at),
                fmt::duration(now.saturating_sub(m.trained_at)),
                m.samples,
                m.forest.threshold,
                if b.settings.disable_ai {
                    "; not used (AIWAF_DISABLE_AI)"
                } else {
                    ""
                }
            ));
        } else {
            t.push_str("  model: none (the anomaly detector does not run)\n");
        }
        t.push_str("  expiry:\n");
        let line = |e: &Expiry| {
            let mut s = format!(
                "{} expired, {} expiring within 24 h",
                e.expired,
                e.soon.len()
            );
            if !e.soon.is_empty() {
                s.push_str(": ");
                s.push_str(&shorten(&e.soon));
            }
            s
        };
        t.push_str(&fmt::pairs(
            &[
                ("blocklist".to_string(), line(&bl)),
                ("keywords".to_string(), line(&kw)),
            ],
            4,
        ));
    }
    for n in &f.notes {
        t.push_str(&format!("  {n}\n"));
    }
    for w in &f.warnings {
        t.push_str(&format!("  warning: {w}\n"));
    }
    t
}
