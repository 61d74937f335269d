//! Reader tests: every input is written by the test itself into its own temporary directory.

use std::net::IpAddr;
use std::path::PathBuf;

use super::*;
use std::io::Write as _;

/// A temporary directory for one test's input files.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(_tag: &str) -> Self {
        TempDir(tempfile::tempdir().unwrap())
    }
    fn path(&self) -> PathBuf {
        self.0.path().to_path_buf()
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
    fn write_gz(&self, name: &str, data: &[u8]) -> PathBuf {
        self.write(name, &gz(data))
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn read(paths: &[PathBuf]) -> (Vec<AccessRecord>, ReadStats) {
    let mut out = Vec::new();
    let stats = LogReader::for_each(paths, |r| out.push(r)).unwrap();
    (out, stats)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// 2026-11-01T00:00:00Z
const T0: u64 = 1_793_491_200_000;

const COMBINED: &str = r#"198.18.0.1 - - [01/Nov/2026:00:00:00 +0000] "GET /search?q=x HTTP/1.1" 200 512 "https://ex.com/" "Mozilla/5.0 (X11)"
198.18.0.2 - frank [01/Nov/2026:01:00:01 +0100] "PATCH /api/v1/items/7 HTTP/2.0" 204 - "-" "okhttp/4.12.0"
2001:db8::1 - - [31/Oct/2026:19:00:02 -0500] "PROPFIND /dav/ HTTP/1.1" 207 10 "-" "-"
"#;

#[test]
fn combined_with_patch_dash_zone_and_ipv6() {
    let dir = TempDir::new("combined");
    let p = dir.write("access.log", COMBINED.as_bytes());
    let (recs, stats) = read(std::slice::from_ref(&p));
    assert_eq!(stats.formats, vec![(p, Format::Combined)]);
    assert_eq!(
        (stats.lines, stats.parsed, stats.skipped),
        (3, 3, 0),
        "{stats:?}"
    );
    assert_eq!(
        recs[0],
        AccessRecord {
            client: ip("198.18.0.1"),
            time_ms: T0,
            method: "GET".into(),
            target: "/search?q=x".into(),
            status: 200,
            response_ms: None,
            bytes: Some(512),
            user_agent: "Mozilla/5.0 (X11)".into(),
            referer: "https://ex.com/".into(),
        }
    );
    assert_eq!(
        (recs[1].method.as_str(), recs[1].bytes, recs[1].time_ms),
        ("PATCH", None, T0 + 1000)
    );
    assert_eq!(recs[1].referer, "");
    assert_eq!(recs[2].client, ip("2001:db8::1"));
    assert_eq!(
        (
            recs[2].method.as_str(),
            recs[2].time_ms,
            recs[2].user_agent.as_str()
        ),
        ("PROPFIND", T0 + 2000, "")
    );
}

#[test]
fn common_format() {
    let dir = TempDir::new("common");
    let p = dir.write(
        "x.log",
        b"10.0.0.1 - - [01/Nov/2026:00:00:00 +0000] \"GET / HTTP/1.0\" 200 42\n10.0.0.2 - - [01/Nov/2026:00:00:00 +0000] \"HEAD /a HTTP/1.0\" 304 -\n",
    );
    let (recs, stats) = read(std::slice::from_ref(&p));
    assert_eq!(stats.formats, vec![(p, Format::Common)]);
    assert_eq!(recs.len(), 2);
    assert_eq!(
        (recs[1].status, recs[1].bytes, recs[1].user_agent.as_str()),
        (304, None, "")
    );
}

#[test]
fn trailing_response_times_seconds_versus_milliseconds() {
    let dir = TempDir::new("rt");
    let base = r#"1.2.3.4 - - [01/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#;
    let text = format!(
        "{base} 0.123\n{base} rt=1.5\n{base} response-time=0.002\n{base} 37\n{base} \"1.2.3.4\"\n"
    );
    let p = dir.write("a.log", text.as_bytes());
    let (recs, _) = read(&[p]);
    let times: Vec<_> = recs.iter().map(|r| r.response_ms).collect();
    // Decimal point → seconds (nginx $request_time); integer → milliseconds (Envoy %DURATION%).
    assert_eq!(times, vec![Some(123), Some(1500), Some(2), Some(37), None]);
}

#[test]
fn project_envoy_format_is_combined_with_milliseconds() {
    let dir = TempDir::new("own");
    let p = dir.write(
        "envoy.log",
        b"127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] \"GET /health/ HTTP/1.1\" 200 2 \"-\" \"curl/8.5.0\" 3\n",
    );
    let (recs, stats) = read(std::slice::from_ref(&p));
    assert_eq!(stats.formats, vec![(p, Format::Combined)]);
    assert_eq!(recs[0].response_ms, Some(3));
}

#[test]
fn envoy_default_format() {
    let dir = TempDir::new("envoy");
    let text = concat!(
        "[2026-11-01T00:00:00.250Z] \"POST /api/x?y=1 HTTP/1.1\" 201 - 12 34 5 4 \"203.0.113.9, 10.0.0.1\" \"curl/8\" \"id-1\" \"ex.com\" \"127.0.0.1:8080\"\n",
        "[2026-11-01T00:00:01.000Z] \"GET / HTTP/2\" 0 DC 0 0 1 - \"-\" \"-\" \"id-2\" \"ex.com\" \"-\"\n",
        "[2026-11-01T00:00:02.000Z] \"GET / HTTP/2\" 200 - 0 0 1 - \"2001:db8::7\" \"-\" \"id-3\" \"ex.com\" \"-\"\n",
    );
    let p = dir.write("envoy.log", text.as_bytes());
    let (recs, stats) = read(std::slice::from_ref(&p));
    assert_eq!(stats.formats, vec![(p, Format::Envoy)]);
    assert_eq!(recs.len(), 2);
    // The LAST X-Forwarded-For entry.
    assert_eq!(recs[0].client, ip("10.0.0.1"));
    assert_eq!(
        (
            recs[0].time_ms,
            recs[0].status,
            recs[0].bytes,
            recs[0].response_ms
        ),
        (T0 + 250, 201, Some(34), Some(5))
    );
    assert_eq!(recs[0].target, "/api/x?y=1");
    assert_eq!(recs[1].client, ip("2001:db8::7"));
    assert_eq!(stats.skipped, 1);
    assert!(
        stats.bad_samples[0].contains("envoy.log:2: no client address"),
        "{:?}",
        stats.bad_samples
    );
}

#[test]
fn json_lines_mapping() {
    let dir = TempDir::new("json");
    let text = concat!(
        r#"{"remote_addr":"198.18.0.5","time_local":"01/Nov/2026:01:00:00 +0100","request":"DELETE /a?b=c HTTP/1.1","status":"404","body_bytes_sent":"0","request_time":"0.250","http_user_agent":"ua","http_referer":"-"}"#,
        "\n",
        r#"{"client":"::1","timestamp":1793491200.5,"method":"GET","path":"/x","status":200,"duration":12,"user_agent":"u2","referer":"r"}"#,
        "\n",
        r#"{"ip":"10.1.1.1","start_time":"2026-11-01T00:00:00Z","request_method":"PUT","uri":"/p","status_code":201,"response_time_ms":7}"#,
        "\n",
        r#"{"ip":"10.1.1.1","time":1793491200007,"request":"GET /ms HTTP/1.1","status":200}"#,
        "\n",
        r#"{"ip":"10.1.1.1","status":200}"#,
        "\n",
    );
    let p = dir.write("app.jsonl", text.as_bytes());
    let (recs, stats) = read(std::slice::from_ref(&p));
    assert_eq!(stats.formats, vec![(p, Format::JsonLines)]);
    assert_eq!((stats.parsed, stats.skipped), (4, 1));
    assert_eq!((recs[3].time_ms, recs[3].target.as_str()), (T0 + 7, "/ms"));
    let r = &recs[0];
    assert_eq!(
        (r.client, r.time_ms, r.method.as_str(), r.target.as_str()),
        (ip("198.18.0.5"), T0, "DELETE", "/a?b=c")
    );
    assert_eq!(
        (
            r.status,
            r.bytes,
            r.response_ms,
            r.user_agent.as_str(),
            r.referer.as_str()
        ),
        (404, Some(0), Some(250), "ua", "")
    );
    assert_eq!(
        (recs[1].client, recs[1].time_ms, recs[1].response_ms),
        (ip("::1"), T0 + 500, Some(12))
    );
    assert_eq!(
        (
            recs[2].method.as_str(),
            recs[2].target.as_str(),
            recs[2].response_ms
        ),
        ("PUT", "/p", Some(7))
    );
}

#[test]
fn aiwaf_csv() {
    let dir = TempDir::new("csv");
    let text = "\u{feff}timestamp,ip,method,path,status_code,content_length,response_time_ms,referer,user_agent\n\
        2026-11-01T00:00:00.100000,198.18.0.9,POST,/login/,302,0,45,,\"Mozilla/5.0 (X11, \"\"x\"\")\"\n\
        2026-11-01T00:00:01,198.18.0.9,GET,/,200,10,3,https://ex.com/,ua\n";
    let p = dir.write("aiwaf_requests.csv", text.as_bytes());
    let (recs, stats) = read(std::slice::from_ref(&p));
    assert_eq!(stats.formats, vec![(p, Format::AiwafCsv)]);
    assert_eq!((stats.lines, stats.parsed), (2, 2));
    assert_eq!(
        (recs[0].time_ms, recs[0].method.as_str(), recs[0].status),
        (T0 + 100, "POST", 302)
    );
    assert_eq!((recs[0].response_ms, recs[0].bytes), (Some(45), Some(0)));
    assert_eq!(recs[0].user_agent, "Mozilla/5.0 (X11, \"x\")");
    assert_eq!(recs[1].referer, "https://ex.com/");
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let dir = TempDir::new("gz");
    let a = dir.write_gz("really-gzip.log", COMBINED.as_bytes());
    let b = dir.write("plain.gz", COMBINED.as_bytes());
    let (recs, stats) = read(&[a, b]);
    assert_eq!(recs.len(), 6);
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
}

#[test]
fn multi_member_gzip() {
    let dir = TempDir::new("multi");
    let mut data = gz(COMBINED.as_bytes());
    data.extend(gz(COMBINED.as_bytes()));
    let p = dir.write("two.gz", &data);
    assert_eq!(read(&[p]).0.len(), 6);
}

#[test]
fn corrupt_and_truncated_gzip_keep_the_data_before() {
    let dir = TempDir::new("corrupt");
    let mut body = String::new();
    for i in 0..2000 {
        body.push_str(&format!(
            "10.0.{}.{} - - [01/Nov/2026:00:00:00 +0000] \"GET /p/{i} HTTP/1.1\" 200 {i} \"-\" \"ua\"\n",
            i / 250,
            i % 250
        ));
    }
    let good = gz(body.as_bytes());
    let truncated = dir.write("trunc.log.gz", &good[..good.len() / 2]);
    let mut garbled = good.clone();
    let mid = garbled.len() * 3 / 4;
    for b in &mut garbled[mid..mid + 64] {
        *b = 0xff;
    }
    let corrupt = dir.write("corrupt.log.gz", &garbled);
    for p in [truncated, corrupt] {
        let (recs, stats) = read(std::slice::from_ref(&p));
        assert!(
            recs.len() > 100 && recs.len() < 2000,
            "{}: {}",
            p.display(),
            recs.len()
        );
        assert_eq!(stats.errors.len(), 1, "{stats:?}");
        assert!(stats.errors[0].contains(&*p.file_name().unwrap().to_string_lossy()));
        // Only complete lines: every record kept is one of the originals, in order.
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.target, format!("/p/{i}"));
        }
    }
}

#[test]
fn garbage_binary_invalid_utf8_and_huge_lines() {
    let dir = TempDir::new("junk");
    let mut data = Vec::new();
    data.extend_from_slice(COMBINED.as_bytes());
    data.extend_from_slice(b"this is not a log line\n");
    data.extend_from_slice(&[0u8, 1, 2, 0xff, 0xfe, b'\n']);
    data.extend_from_slice(b"1.2.3.4 - - [01/Nov/2026:00:00:00 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 1 \"-\" \"\xff\"\n");
    data.extend(std::iter::repeat_n(b'a', 200_000));
    data.push(b'\n');
    data.extend_from_slice(
        b"1.2.3.4 - - [99/Nov/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\"\n",
    );
    data.extend_from_slice(b"\n\n   \n");
    data.extend_from_slice(COMBINED.lines().next().unwrap().as_bytes()); // no final newline
    let p = dir.write("junk.log", &data);
    let (recs, stats) = read(&[p]);
    assert_eq!(recs.len(), 5, "{stats:?}");
    assert_eq!(recs[3].target, "/caf\u{fffd}");
    assert_eq!((stats.lines, stats.parsed, stats.skipped), (9, 5, 4));
    assert_eq!(stats.bad_samples.len(), 4);
    assert!(
        stats.bad_samples[0].contains("junk.log:4: no client address"),
        "{:?}",
        stats.bad_samples
    );
    assert!(
        stats.bad_samples[2].contains("junk.log:7: line longer than 64 KiB"),
        "{:?}",
        stats.bad_samples
    );
    assert!(
        stats.bad_samples[3].contains("bad timestamp"),
        "{:?}",
        stats.bad_samples
    );
}

#[test]
fn samples_are_capped() {
    let dir = TempDir::new("cap");
    let p = dir.write("bad.log", "junk\n".repeat(50).as_bytes());
    let (_, stats) = read(&[p]);
    assert_eq!((stats.skipped, stats.bad_samples.len()), (50, MAX_SAMPLES));
}

#[test]
fn fuzzish_inputs_never_panic() {
    let dir = TempDir::new("fuzz");
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut data = Vec::new();
    let alphabet = b"[]\" -:/0123456789.,{}GETHTTP\\\n\xff=";
    for _ in 0..200_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        data.push(alphabet[(seed % alphabet.len() as u64) as usize]);
    }
    for (i, prefix) in [
        &b""[..],
        b"{",
        b"[",
        b"1.2.3.4 - - [",
        b"timestamp,ip,path,status_code\n",
    ]
    .iter()
    .enumerate()
    {
        let mut d = prefix.to_vec();
        d.extend_from_slice(&data);
        let p = dir.write(&format!("f{i}.log"), &d);
        let _ = read(&[p]);
    }
}

#[test]
fn rotated_sets_oldest_first_and_inputs() {
    let dir = TempDir::new("rot");
    let line = |n: u32| {
        format!(
            "1.1.1.1 - - [01/Nov/2026:00:00:00 +0000] \"GET /{n} HTTP/1.1\" 200 1 \"-\" \"ua\"\n"
        )
    };
    dir.write("access.log", line(0).as_bytes());
    dir.write("access.log.1", line(1).as_bytes());
    dir.write_gz("access.log.2.gz", line(2).as_bytes());
    dir.write("access.log.9", line(9).as_bytes());
    dir.write_gz("access.log.10.gz", line(10).as_bytes());
    dir.write(".hidden", b"x");
    let names = |v: &[PathBuf]| -> Vec<String> {
        v.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    let want = [
        "access.log.10.gz",
        "access.log.9",
        "access.log.2.gz",
        "access.log.1",
        "access.log",
    ];
    let from_dir = expand_inputs(std::slice::from_ref(&dir.path())).unwrap();
    assert_eq!(names(&from_dir), want);
    let from_glob = expand_inputs(&[dir.path().join("access.log*")]).unwrap();
    assert_eq!(names(&from_glob), want);
    // Shell-expanded (lexicographic) arguments are reordered too; duplicates dropped.
    let mut args: Vec<PathBuf> = want.iter().map(|n| dir.path().join(n)).collect();
    args.sort();
    args.push(dir.path().join("access.log"));
    assert_eq!(names(&expand_inputs(&args).unwrap()), want);
    let (recs, stats) = read(&from_dir);
    let targets: Vec<_> = recs.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/10", "/9", "/2", "/1", "/0"]);
    assert_eq!(stats.files, 5);
    assert!(expand_inputs(&[dir.path().join("nope.log")]).is_err());
    assert!(expand_inputs(&[dir.path().join("*.nomatch")]).is_err());
}

#[test]
fn crlf_lines_and_globs_in_directories_and_dateext() {
    let dir = TempDir::new("crlf");
    std::fs::create_dir_all(dir.path().join("web1")).unwrap();
    std::fs::create_dir_all(dir.path().join("web2")).unwrap();
    let crlf = COMBINED.replace('\n', "\r\n");
    dir.write("web1/access.log", crlf.as_bytes());
    dir.write("web2/access.log-20261102", COMBINED.as_bytes());
    dir.write_gz("web2/access.log-20261101.gz", COMBINED.as_bytes());
    dir.write("web2/access.log", COMBINED.as_bytes());
    let files = expand_inputs(&[dir.path().join("web*").join("access.log*")]).unwrap();
    let rel: Vec<_> = files
        .iter()
        .map(|p| {
            p.strip_prefix(&dir.0)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        rel,
        [
            "web1/access.log",
            "web2/access.log-20261101.gz",
            "web2/access.log-20261102",
            "web2/access.log"
        ]
    );
    let (recs, stats) = read(&files[..1]);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].user_agent, "Mozilla/5.0 (X11)");
    assert_eq!(stats.skipped, 0);
}

#[test]
fn missing_file_is_an_error_entry_and_reading_goes_on() {
    let dir = TempDir::new("missing");
    let good = dir.write("a.log", COMBINED.as_bytes());
    let (recs, stats) = read(&[dir.path().join("gone.log"), good]);
    assert_eq!(recs.len(), 3);
    assert_eq!(stats.errors.len(), 1);
    assert!(stats.errors[0].contains("gone.log"));
}
