//! Evaluates the payload detectors on a JSONL request corpus (detection and false-positive rates).
//!
//! Usage: `cargo run -p aiwaf-core --release --example corpus_eval -- FILE.jsonl [-v] [--only CAT]`
//!
//! Each line is `{"method","uri","headers","body","label":"attack"|"benign","category",...}`.
//! A request counts as flagged when `inspect_path` (percent-decoded path), `inspect_query` or the
//! body inspector chosen by `Content-Type` (JSON or urlencoded form) reports a finding or a budget
//! limit (the filter answers 413 then). `-v` prints misses and false positives.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use aiwaf_core::payload::{
    inspect_form_body, inspect_json_body, inspect_path, inspect_query, PayloadBudget,
};
use serde_json::Value;

#[derive(Default)]
struct Tally {
    attacks: usize,
    detected: usize,
    benign: usize,
    fps: usize,
}

impl Tally {
    fn add(&mut self, attack: bool, flagged: bool) {
        if attack {
            self.attacks += 1;
            self.detected += usize::from(flagged);
        } else {
            self.benign += 1;
            self.fps += usize::from(flagged);
        }
    }
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "    -".to_owned()
    } else {
        format!("{:5.1}", 100.0 * a as f64 / b as f64)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs the detectors on one request; returns a description of the first hit.
fn evaluate(rec: &Value, budget: &PayloadBudget) -> Option<String> {
    let uri = rec["uri"].as_str().unwrap_or("");
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    if let Some(f) = inspect_path(&percent_decode(path)) {
        return Some(format!("path {}:{}", f.class.as_str(), f.rule));
    }
    match inspect_query(query, budget) {
        Ok(Some(f)) => {
            return Some(format!(
                "query {}:{} [{}]",
                f.class.as_str(),
                f.rule,
                f.location
            ))
        }
        Err(l) => return Some(format!("query limit:{}", l.what)),
        Ok(None) => {}
    }
    let body = rec["body"].as_str().unwrap_or("");
    if body.is_empty() {
        return None;
    }
    let ctype = rec["headers"]
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .and_then(|(_, v)| v.as_str())
        })
        .unwrap_or("")
        .to_ascii_lowercase();
    let res = if ctype.contains("json") {
        inspect_json_body(body.as_bytes(), budget)
    } else if ctype.contains("x-www-form-urlencoded") {
        inspect_form_body(body.as_bytes(), budget)
    } else {
        return None;
    };
    match res {
        Ok(Some(f)) => Some(format!(
            "body {}:{} [{}]",
            f.class.as_str(),
            f.rule,
            f.location
        )),
        Err(l) => Some(format!("body limit:{}", l.what)),
        Ok(None) => None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let Some(file) = args.iter().find(|a| a.ends_with(".jsonl")) else {
        eprintln!("usage: corpus_eval FILE.jsonl [-v] [--only CATEGORY]");
        std::process::exit(2);
    };
    let reader = match std::fs::File::open(file) {
        Ok(f) => BufReader::new(f),
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(1);
        }
    };
    let budget = PayloadBudget::default();
    let mut by_cat: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_placeholder: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let start = std::time::Instant::now();
    let mut n = 0usize;
    for line in reader.lines().map_while(Result::ok) {
        let Ok(rec) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let cat = rec["category"].as_str().unwrap_or("?").to_owned();
        if only.as_deref().is_some_and(|o| !cat.contains(o)) {
            continue;
        }
        n += 1;
        let attack = rec["label"].as_str() == Some("attack");
        let hit = evaluate(&rec, &budget);
        let flagged = hit.is_some();
        by_cat.entry(cat.clone()).or_default().add(attack, flagged);
        if let Some(p) = rec["meta"]["placeholder"].as_str() {
            by_placeholder
                .entry(p.to_owned())
                .or_default()
                .add(attack, flagged);
        }
        if let Some(pl) = rec["meta"]["paranoia_level"].as_u64() {
            by_placeholder
                .entry(format!("paranoia_level {pl}"))
                .or_default()
                .add(attack, flagged);
        }
        total.add(attack, flagged);
        if verbose && attack != flagged {
            let what = if attack { "MISS" } else { "FP  " };
            let payload = rec["meta"]["payload"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    format!(
                        "{} {}",
                        rec["uri"].as_str().unwrap_or(""),
                        rec["body"].as_str().unwrap_or("")
                    )
                });
            let payload: String = payload.chars().take(160).collect();
            let place = rec["meta"]["placeholder"].as_str().map_or_else(
                || format!("PL{}", rec["meta"]["paranoia_level"]),
                str::to_owned,
            );
            println!(
                "{what} {cat} {place} {} {payload:?}",
                hit.unwrap_or_default()
            );
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{:<50} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "category", "attacks", "detect", "det%", "benign", "fp", "fp%"
    );
    let print = |name: &str, t: &Tally| {
        println!(
            "{:<50} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
            name,
            t.attacks,
            t.detected,
            pct(t.detected, t.attacks),
            t.benign,
            t.fps,
            pct(t.fps, t.benign)
        );
    };
    for (cat, t) in &by_cat {
        print(cat, t);
    }
    if !by_placeholder.is_empty() {
        println!("-- by placeholder (gotestwaf) / paranoia level (CRS)");
        for (p, t) in &by_placeholder {
            print(p, t);
        }
    }
    print("TOTAL", &total);
    println!("{n} requests in {:.1} ms", elapsed.as_secs_f64() * 1000.0);
}
