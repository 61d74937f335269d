//! `aiwaf sample-log`: a realistic synthetic access log, seeded, so the demo and the tests
//! never need outside data.
//!
//! Traffic mix (by requests): browsing sessions (pages, assets, searches, the odd 404, form
//! posts a person takes seconds to fill), API clients (JSON, UUID object ids), well-known
//! crawlers, and scanners from 203.0.113.0/24 (probe paths, injections, mostly 404s, in
//! bursts). Benign clients come from 198.18.0.0/15 (the benchmarking range). Lines are nginx
//! `combined` with a trailing `$request_time` in seconds, time-ordered, starting
//! 2026-11-01T00:00:00Z.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use aiwaf_logs::UtcTime;

use crate::rng::Rng;

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
];
const CRAWLERS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
];
const API_AGENTS: &[&str] = &[
    "okhttp/4.12.0",
    "shop-mobile/3.2 (Android 14)",
    "Go-http-client/2.0",
];
const SCANNER_AGENTS: &[&str] = &[
    "sqlmap/1.8#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 zgrab/0.x",
];
const PAGES: &[&str] = &[
    "/",
    "/products",
    "/about",
    "/contact",
    "/blog",
    "/cart",
    "/account/profile",
    "/help/shipping",
];
const ASSETS: &[&str] = &[
    "/static/app.css",
    "/static/app.js",
    "/static/logo.svg",
    "/favicon.ico",
];
const SEARCHES: &[&str] = &[
    "running+shoes",
    "rain+jacket",
    "gift+card",
    "o%27neill+hoodie",
    "tent",
];
const PROBES: &[&str] = &[
    "/wp-login.php",
    "/wp-admin/setup-config.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/backup.sql",
    "/db_dumper.php",
    "/admin/config.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/luci",
    "/xmlrpc.php",
    "/server-status",
    "/actuator/env",
    "/shell.php",
    "/backup_old.zip",
    "/dumper/",
    "/filemanager/upload",
    "/.aws/credentials",
    "/config.json.bak",
    "/boaform/admin/formLogin",
];
const INJECTIONS: &[&str] = &[
    "/search?q=1%27%20OR%20%271%27=%271",
    "/products?id=1%20UNION%20SELECT%20password%20FROM%20users--",
    "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
    "/download?file=../../../../etc/passwd",
    "/ping?host=127.0.0.1;cat%20/etc/passwd",
];

/// One log line's fields.
struct Hit<'a> {
    ip: Ipv4Addr,
    method: &'a str,
    target: String,
    status: u16,
    bytes: Option<u32>,
    referer: &'a str,
    agent: &'a str,
    seconds: f64,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `25/Nov/2026:06:15:37 +0000` for Unix seconds `t` (UTC).
pub fn clf_time(t: u64) -> String {
    let c = UtcTime::from_unix(t);
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// Writes `lines` log lines generated from `seed` to `out`.
pub fn write(out: &mut dyn Write, lines: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng(seed);
    // 2026-11-01T00:00:00Z, in milliseconds so bursts can share a second.
    let mut now_ms: u64 = 1_793_491_200_000;
    let mut written = 0;
    let mut batch: Vec<Hit<'static>> = Vec::new();
    while written < lines {
        batch.clear();
        let kind = rng.below(100);
        if kind < 62 {
            browse(&mut rng, &mut batch);
        } else if kind < 80 {
            api(&mut rng, &mut batch);
        } else if kind < 88 {
            crawl(&mut rng, &mut batch);
        } else {
            scan(&mut rng, &mut batch);
        }
        for hit in &batch {
            if written == lines {
                break;
            }
            now_ms += hit_gap(&mut rng, hit);
            let bytes = hit.bytes.map_or("-".to_string(), |b| b.to_string());
            writeln!(
                out,
                "{} - - [{}] \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\" {:.3}",
                hit.ip,
                clf_time(now_ms / 1000),
                hit.method,
                hit.target,
                hit.status,
                bytes,
                if hit.referer.is_empty() {
                    "-"
                } else {
                    hit.referer
                },
                hit.agent,
                hit.seconds
            )?;
            written += 1;
        }
    }
    Ok(())
}

/// Milliseconds before a hit: scanners fire fast, people pause (a form post waits seconds).
fn hit_gap(rng: &mut Rng, hit: &Hit<'_>) -> u64 {
    if hit.method == "POST" && hit.target == "/contact" {
        5_000 + rng.below(25_000)
    } else if hit.ip.octets()[0] == 203 {
        20 + rng.below(200)
    } else {
        50 + rng.below(1_500)
    }
}

fn benign_ip(rng: &mut Rng) -> Ipv4Addr {
    // 400 recurring visitors in 198.18.0.0/15.
    let n = rng.below(400) as u32;
    Ipv4Addr::from(0xC612_0000 | (n / 200) << 8 | (n % 200 + 1))
}

fn browse(rng: &mut Rng, batch: &mut Vec<Hit<'static>>) {
    let ip = benign_ip(rng);
    let agent = *rng.pick(BROWSERS);
    for _ in 0..1 + rng.below(6) {
        let page = *rng.pick(PAGES);
        let (target, status) = match rng.below(20) {
            0 => (format!("/products/{}", 9000 + rng.below(50)), 404),
            1..=4 => (format!("/search?q={}", rng.pick(SEARCHES)), 200),
            5..=9 => (format!("/products/{}", 100 + rng.below(400)), 200),
            _ => (page.to_string(), 200),
        };
        let page_load = target.clone();
        batch.push(Hit {
            ip,
            method: "GET",
            target,
            status,
            bytes: Some(2_000 + rng.below(40_000) as u32),
            referer: "",
            agent,
            seconds: 0.005 + rng.below(150) as f64 / 1000.0,
        });
        for asset in ASSETS {
            if !rng.chance(40) {
                continue;
            }
            let cached = rng.chance(30);
            batch.push(Hit {
                ip,
                method: "GET",
                target: asset.to_string(),
                status: if cached { 304 } else { 200 },
                bytes: if cached {
                    None
                } else {
                    Some(500 + rng.below(90_000) as u32)
                },
                referer: "https://shop.example/",
                agent,
                seconds: 0.001 + rng.below(10) as f64 / 1000.0,
            });
        }
        if page_load == "/contact" && rng.chance(50) {
            batch.push(Hit {
                ip,
                method: "POST",
                target: "/contact".into(),
                status: 303,
                bytes: Some(0),
                referer: "https://shop.example/contact",
                agent,
                seconds: 0.040,
            });
        }
    }
}

fn api(rng: &mut Rng, batch: &mut Vec<Hit<'static>>) {
    let ip = benign_ip(rng);
    let agent = *rng.pick(API_AGENTS);
    for _ in 0..1 + rng.below(5) {
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            rng.next() as u32,
            rng.below(0x10000),
            rng.below(0x1000),
            rng.below(0x1000),
            rng.next() & 0xFFFF_FFFF_FFFF
        );
        let (method, target, status) = match rng.below(10) {
            0 => ("POST", "/api/v1/orders".to_string(), 201),
            1 => ("PATCH", format!("/api/v1/items/{id}"), 200),
            2 => ("GET", format!("/api/v1/items/{id}"), 404),
            _ => ("GET", format!("/api/v1/items/{id}"), 200),
        };
        batch.push(Hit {
            ip,
            method,
            target,
            status,
            bytes: Some(100 + rng.below(4_000) as u32),
            referer: "",
            agent,
            seconds: 0.002 + rng.below(80) as f64 / 1000.0,
        });
    }
}

fn crawl(rng: &mut Rng, batch: &mut Vec<Hit<'static>>) {
    let ip = Ipv4Addr::new(66, 249, 66, 1 + rng.below(50) as u8);
    let agent = *rng.pick(CRAWLERS);
    for _ in 0..1 + rng.below(4) {
        let target = if rng.chance(20) {
            "/sitemap.xml".to_string()
        } else {
            format!("/products/{}", 100 + rng.below(400))
        };
        batch.push(Hit {
            ip,
            method: "GET",
            target,
            status: 200,
            bytes: Some(3_000 + rng.below(30_000) as u32),
            referer: "",
            agent,
            seconds: 0.01,
        });
    }
}

fn scan(rng: &mut Rng, batch: &mut Vec<Hit<'static>>) {
    // 12 scanners, each sweeping a run of probes and injections.
    let ip = Ipv4Addr::new(203, 0, 113, 10 + rng.below(12) as u8);
    let agent = *rng.pick(SCANNER_AGENTS);
    for _ in 0..8 + rng.below(12) {
        let (target, status) = if rng.chance(80) {
            (
                rng.pick(PROBES).to_string(),
                if rng.chance(90) { 404 } else { 403 },
            )
        } else {
            (
                rng.pick(INJECTIONS).to_string(),
                if rng.chance(50) { 200 } else { 500 },
            )
        };
        let method = if rng.chance(10) { "POST" } else { "GET" };
        batch.push(Hit {
            ip,
            method,
            target,
            status,
            bytes: Some(150 + rng.below(400) as u32),
            referer: "",
            agent,
            seconds: 0.001 + rng.below(20) as f64 / 1000.0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(lines: u64, seed: u64) -> String {
        let mut out = Vec::new();
        write(&mut out, lines, seed).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_log_and_exact_line_count() {
        assert_eq!(generate(500, 7), generate(500, 7));
        assert_ne!(generate(500, 7), generate(500, 8));
        assert_eq!(generate(1234, 1).lines().count(), 1234);
        assert_eq!(generate(0, 1), "");
    }

    #[test]
    fn the_mix_has_every_kind_of_client() {
        let log = generate(5_000, 42);
        for needle in [
            "198.18.",
            "203.0.113.",
            "Googlebot",
            "okhttp",
            "POST /contact",
            "PATCH /api/v1/items/",
            "/.env",
            "UNION%20SELECT",
            "\" 304 - \"",
        ] {
            assert!(log.contains(needle), "missing {needle}");
        }
        let scanner = log.lines().filter(|l| l.starts_with("203.0.113.")).count();
        assert!(
            (200..1500).contains(&scanner),
            "{scanner} scanner lines of 5000"
        );
    }

    #[test]
    fn timestamps_are_formatted_and_ordered() {
        assert_eq!(clf_time(1_793_491_200), "01/Nov/2026:00:00:00 +0000");
        assert_eq!(clf_time(1_764_052_537), "25/Nov/2025:06:35:37 +0000");
        let log = generate(300, 3);
        let first = log.lines().next().unwrap();
        assert!(first.contains("[01/Nov/2026:00:00:"), "{first}");
    }

    #[test]
    fn the_log_readers_parse_every_line_of_it_gzipped() {
        let dir = crate::testutil::TempDir::new("sample");
        let mut text = Vec::new();
        write(&mut text, 20_000, 7).unwrap();
        let path = dir.write_gz("sample.log.gz", &text);
        let mut statuses = 0u64;
        let stats = aiwaf_logs::LogReader::for_each(std::slice::from_ref(&path), |r| {
            statuses += u64::from(r.status)
        })
        .unwrap();
        assert_eq!((stats.lines, stats.parsed), (20_000, 20_000));
        assert_eq!(
            (stats.skipped, stats.errors.len()),
            (0, 0),
            "{:?}",
            stats.bad_samples
        );
        assert_eq!(stats.formats, vec![(path, aiwaf_logs::Format::Combined)]);
        assert!(statuses > 20_000 * 200);
    }
}
