//! The sandbox's traffic: benign requests and scanner targets read from logs written by
//! `aiwaf sample-log`, the attack streams built from them, and an optional JSONL corpus.
//!
//! Every stream is built once and replayed unchanged against both Envoys in every
//! iteration, so direct and protected see byte-identical requests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use aiwaf_e2e::browser_headers;
use anyhow::{bail, Context, Result};
use serde_json::Value;

/// Stream names; the report groups by them (`benign` is the two benign streams together).
pub const BENIGN_BROWSER: &str = "benign browser";
pub const BENIGN_API: &str = "benign api";
pub const PROBES: &str = "probes";
pub const INJECTIONS: &str = "injections";
pub const SCANNERS: &str = "scanners";
pub const FLOODS: &str = "floods";
/// Prefixes of the corpus streams, followed by the corpus's own category.
pub const CORPUS_BENIGN: &str = "corpus benign";
pub const CORPUS_ATTACK: &str = "corpus attack";

/// Requests one flooding client sends, and the threads it sends them from (as fast as the
/// loopback allows, spread over Envoy's workers like a real flood).
const FLOOD_REQUESTS: usize = 100;
/// The page the flood hammers (a literal route of the generated site).
pub const FLOOD_TARGET: &str = "/products";
const FLOOD_THREADS: usize = 4;
/// Ordinary pages the trained log's scanners ask for: only the trained blocklist can stop
/// them (browser headers, no attack in the path).
const SCANNER_PAGES: &[&str] = &["/", "/products", "/about", "/search?q=tent"];

/// One request exactly as it goes on the wire, and its client (sent as `X-Forwarded-For`,
/// which Envoy trusts for one hop).
#[derive(Debug, Clone)]
pub struct Shot {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub client: String,
    /// A browser's form post: sent after the rest of the replay, at least
    /// `AIWAF_MIN_FORM_TIME` after its page load. A replay compresses the log's 5–30 s
    /// between page and post to milliseconds, which is what the honeypot rightly blocks.
    pub deferred: bool,
}

/// Requests whose block rate is reported under `name`.
#[derive(Debug)]
pub struct Stream {
    pub name: String,
    /// 1: one request at a time; more: the shots are split over that many threads.
    pub threads: usize,
    pub shots: Vec<Shot>,
}

impl Stream {
    fn new(name: &str, shots: Vec<Shot>) -> Stream {
        Stream {
            name: name.to_string(),
            threads: 1,
            shots,
        }
    }
}

/// One line of an nginx `combined` log, as `aiwaf sample-log` writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub client: Ipv4Addr,
    pub method: String,
    pub target: String,
    pub referer: Option<String>,
    pub agent: String,
}

/// Parses `IP - - [time] "METHOD TARGET HTTP/1.1" STATUS BYTES "REFERER" "AGENT" SECONDS`.
/// The generator never writes a quote inside a field, so splitting on quotes is exact.
pub fn parse_combined(line: &str) -> Option<LogLine> {
    let fields: Vec<&str> = line.split('"').collect();
    if fields.len() < 7 {
        return None;
    }
    let client = fields[0].split_whitespace().next()?.parse().ok()?;
    let mut request = fields[1].split(' ');
    let (method, target) = (request.next()?, request.next()?);
    Some(LogLine {
        client,
        method: method.to_string(),
        target: target.to_string(),
        referer: (fields[3] != "-").then(|| fields[3].to_string()),
        agent: fields[5].to_string(),
    })
}

/// Every line of a generated log; a line that does not parse is an error (the generator
/// and this parser disagree, and the streams would silently shrink).
pub fn read_log(path: &Path) -> Result<Vec<LogLine>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            parse_combined(line)
                .with_context(|| format!("{}:{}: not a combined log line", path.display(), i + 1))
        })
        .collect()
}

/// The generator's benign clients: 198.18.0.0/15.
fn is_benign_range(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    o[0] == 198 && o[1] & 0xFE == 18
}

/// The generator's scanners: 203.0.113.0/24.
fn is_scanner_range(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    (o[0], o[1], o[2]) == (203, 0, 113)
}

/// The scanner addresses of a log, sorted.
pub fn scanners(log: &[LogLine]) -> BTreeSet<Ipv4Addr> {
    log.iter()
        .map(|l| l.client)
        .filter(|ip| is_scanner_range(*ip))
        .collect()
}

/// Addresses no log uses (100.64.0.0/10, shared address space), one per attack or corpus
/// request: each is judged on its own, not on what the same client did before.
#[derive(Debug)]
pub struct FreshClients(u32);

impl FreshClients {
    pub fn new() -> FreshClients {
        FreshClients(u32::from(Ipv4Addr::new(100, 64, 0, 1)))
    }

    pub fn next(&mut self) -> String {
        let ip = Ipv4Addr::from(self.0);
        self.0 += 1;
        ip.to_string()
    }
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers.push((name.to_string(), value.to_string()));
}

/// A browser request: the harness's full browser header set with the logged user agent.
fn browser_shot(line: &LogLine) -> Shot {
    let mut headers = browser_headers();
    set_header(&mut headers, "User-Agent", &line.agent);
    if let Some(referer) = &line.referer {
        headers.push(("Referer".to_string(), referer.clone()));
    }
    let post = line.method == "POST";
    let body = post.then(|| {
        headers.push((
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
        b"name=Ana+Silva&email=ana%40example.com&message=Where+is+order+1042%3F".to_vec()
    });
    Shot {
        method: line.method.clone(),
        target: line.target.clone(),
        headers,
        body,
        client: line.client.to_string(),
        deferred: post,
    }
}

/// An API client request: the logged agent with what mobile and server HTTP libraries send;
/// writes carry a small JSON document (the log has no bodies).
fn api_shot(line: &LogLine) -> Shot {
    let mut headers = vec![
        ("User-Agent".to_string(), line.agent.clone()),
        ("Accept".to_string(), "application/json".to_string()),
        ("Accept-Encoding".to_string(), "gzip".to_string()),
    ];
    let body = match line.method.as_str() {
        "POST" => Some(br#"{"items":[{"sku":"RJ-204","qty":2}],"ship_to":"home"}"#.to_vec()),
        "PATCH" | "PUT" => Some(br#"{"qty":3}"#.to_vec()),
        _ => None,
    };
    if body.is_some() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    Shot {
        method: line.method.clone(),
        target: line.target.clone(),
        headers,
        body,
        client: line.client.to_string(),
        deferred: false,
    }
}

/// The first `limit` benign lines of the replay log (clients of 198.18.0.0/15 that were not
/// scanners in the training log), as a browser stream and an API stream.
pub fn benign_streams(
    replay: &[LogLine],
    training_scanners: &BTreeSet<Ipv4Addr>,
    limit: usize,
) -> Vec<Stream> {
    let (mut browser, mut api) = (Vec::new(), Vec::new());
    let benign = replay
        .iter()
        .filter(|l| is_benign_range(l.client) && !training_scanners.contains(&l.client));
    for line in benign.take(limit) {
        if line.agent.starts_with("Mozilla/") {
            browser.push(browser_shot(line));
        } else {
            api.push(api_shot(line));
        }
    }
    vec![
        Stream::new(BENIGN_BROWSER, browser),
        Stream::new(BENIGN_API, api),
    ]
}

/// The replay log's benign requests (browser and API streams, not the corpus's), which the
/// load run cycles through; not the form posts. Under load a pool address would post a form
/// a second after another request loaded it, and the honeypot rightly refuses a post that fast
/// (the replay sends them after `AIWAF_MIN_FORM_TIME`).
pub fn log_benign(streams: &[Stream]) -> Vec<Shot> {
    streams
        .iter()
        .filter(|s| s.name == BENIGN_BROWSER || s.name == BENIGN_API)
        .flat_map(|s| s.shots.iter().filter(|shot| !shot.deferred).cloned())
        .collect()
}

/// A browser `GET`/`POST` of `target` from `client`.
fn attack_shot(method: &str, target: &str, client: String) -> Shot {
    Shot {
        method: method.to_string(),
        target: target.to_string(),
        headers: browser_headers(),
        body: None,
        client,
        deferred: false,
    }
}

/// Probes, injections, the training log's scanners and a flood.
///
/// Probes and injections are the distinct (method, target) pairs the replay log's scanners
/// sent (the generator's lists: a `?` marks an injection), each from a fresh client and with
/// browser headers, so the path alone must earn the block (a scanner's user agent would be
/// refused before the path is looked at).
pub fn attack_streams(
    replay: &[LogLine],
    training_scanners: &BTreeSet<Ipv4Addr>,
    fresh: &mut FreshClients,
) -> Vec<Stream> {
    let pairs: BTreeSet<(&str, &str)> = replay
        .iter()
        .filter(|l| is_scanner_range(l.client))
        .map(|l| (l.method.as_str(), l.target.as_str()))
        .collect();
    let (mut probes, mut injections) = (Vec::new(), Vec::new());
    for (method, target) in pairs {
        let shot = attack_shot(method, target, fresh.next());
        if target.contains('?') {
            injections.push(shot);
        } else {
            probes.push(shot);
        }
    }
    let scanners = training_scanners
        .iter()
        .flat_map(|ip| {
            SCANNER_PAGES
                .iter()
                .map(move |page| attack_shot("GET", page, ip.to_string()))
        })
        .collect();
    let flooder = fresh.next();
    let flood = (0..FLOOD_REQUESTS)
        .map(|_| attack_shot("GET", FLOOD_TARGET, flooder.clone()))
        .collect();
    vec![
        Stream::new(PROBES, probes),
        Stream::new(INJECTIONS, injections),
        Stream::new(SCANNERS, scanners),
        Stream {
            threads: FLOOD_THREADS,
            ..Stream::new(FLOODS, flood)
        },
    ]
}

/// Headers that frame the message: the client computes `Content-Length` from the body, and a
/// stale or contradictory one from the corpus would leave the request hanging, not tested.
fn is_framing(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
}

/// The corpus entry's headers: `meta.header_list` when present (order and duplicates kept),
/// else the `headers` object.
fn corpus_headers(entry: &Value) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = match entry.pointer("/meta/header_list") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|p| Some((p.get(0)?.as_str()?, p.get(1)?.as_str()?)))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        _ => entry["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
    };
    pairs.into_iter().filter(|(k, _)| !is_framing(k)).collect()
}

/// One corpus line: the stream it belongs to and its request.
fn corpus_entry(entry: &Value, fresh: &mut FreshClients) -> Result<(String, Shot)> {
    let field = |name: &str| {
        entry[name]
            .as_str()
            .with_context(|| format!("no string field `{name}`"))
    };
    let label = entry["label"].as_str().unwrap_or("attack");
    let category = entry["category"].as_str().unwrap_or("uncategorised");
    let prefix = if label == "benign" {
        CORPUS_BENIGN
    } else {
        CORPUS_ATTACK
    };
    let shot = Shot {
        method: field("method")?.to_string(),
        target: field("uri")?.to_string(),
        headers: corpus_headers(entry),
        body: entry["body"].as_str().map(|b| b.as_bytes().to_vec()),
        client: fresh.next(),
        deferred: false,
    };
    Ok((format!("{prefix}: {category}"), shot))
}

/// Reads a JSONL corpus (`method`, `uri`, `headers`, `body`, `label`, `category`, as in
/// /work/shared/corpora) into one stream per label and category, each request from its own
/// client.
pub fn corpus_streams(path: &Path, fresh: &mut FreshClients) -> Result<Vec<Stream>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut by_category: BTreeMap<String, Vec<Shot>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), i + 1);
        let entry: Value = serde_json::from_str(line).with_context(at)?;
        let (name, shot) = corpus_entry(&entry, fresh).with_context(at)?;
        by_category.entry(name).or_default().push(shot);
    }
    if by_category.is_empty() {
        bail!("{} holds no requests", path.display());
    }
    Ok(by_category
        .into_iter()
        .map(|(name, shots)| Stream::new(&name, shots))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_generators_lines() {
        let line = r#"198.18.1.7 - - [01/Nov/2026:00:00:01 +0000] "GET /static/app.css HTTP/1.1" 304 - "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0" 0.004"#;
        let l = parse_combined(line).unwrap();
        assert_eq!(l.client, Ipv4Addr::new(198, 18, 1, 7));
        assert_eq!(
            (l.method.as_str(), l.target.as_str()),
            ("GET", "/static/app.css")
        );
        assert_eq!(l.referer.as_deref(), Some("https://shop.example/"));
        assert!(l.agent.starts_with("Mozilla/5.0 (X11"));
        assert!(is_benign_range(l.client) && !is_scanner_range(l.client));
        assert_eq!(parse_combined("garbage"), None);
    }

    #[test]
    fn benign_streams_split_browsers_and_api_and_defer_form_posts() {
        let log: Vec<LogLine> = [
            r#"198.18.0.9 - - [t] "GET /contact HTTP/1.1" 200 10 "-" "Mozilla/5.0 (Windows NT 10.0)" 0.01"#,
            r#"198.18.0.9 - - [t] "POST /contact HTTP/1.1" 303 0 "https://shop.example/contact" "Mozilla/5.0 (Windows NT 10.0)" 0.04"#,
            r#"198.19.0.3 - - [t] "PATCH /api/v1/items/x HTTP/1.1" 200 10 "-" "okhttp/4.12.0" 0.01"#,
            r#"203.0.113.12 - - [t] "GET /.env HTTP/1.1" 404 10 "-" "curl/8.5.0" 0.01"#,
            r#"66.249.66.3 - - [t] "GET /sitemap.xml HTTP/1.1" 200 10 "-" "Googlebot" 0.01"#,
        ]
        .iter()
        .map(|l| parse_combined(l).unwrap())
        .collect();
        let streams = benign_streams(&log, &scanners(&log), 10);
        let (browser, api) = (&streams[0].shots, &streams[1].shots);
        assert_eq!((browser.len(), api.len()), (2, 1));
        assert!(!browser[0].deferred && browser[1].deferred && browser[1].body.is_some());
        assert!(api[0].body.is_some() && api[0].headers[0].1 == "okhttp/4.12.0");
        // The load run cycles all of them but the form post.
        let load: Vec<(String, String)> = log_benign(&streams)
            .into_iter()
            .map(|s| (s.method, s.target))
            .collect();
        assert_eq!(
            load,
            [
                ("GET".to_string(), "/contact".to_string()),
                ("PATCH".to_string(), "/api/v1/items/x".to_string())
            ]
        );
        let mut fresh = FreshClients::new();
        let attacks = attack_streams(&log, &scanners(&log), &mut fresh);
        assert_eq!(attacks[0].shots[0].target, "/.env");
        assert_eq!(attacks[0].shots[0].client, "100.64.0.1");
        assert_eq!(attacks[2].shots.len(), SCANNER_PAGES.len());
        assert_eq!(attacks[3].shots.len(), FLOOD_REQUESTS);
    }

    #[test]
    fn corpus_entries_keep_header_order_and_drop_framing() {
        let entry: Value = serde_json::from_str(
            r#"{"method":"POST","uri":"/x?a=1","headers":{"B":"2"},"body":"q=1",
                "label":"benign","category":"c1",
                "meta":{"header_list":[["Z","1"],["Content-Length","99"],["A","2"]]}}"#,
        )
        .unwrap();
        let (name, shot) = corpus_entry(&entry, &mut FreshClients::new()).unwrap();
        assert_eq!(name, "corpus benign: c1");
        let names: Vec<&str> = shot.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Z", "A"]);
        assert_eq!(shot.body.as_deref(), Some(&b"q=1"[..]));
    }
}
