//! Access-log readers for `aiwaf train` and the route manifest generator: files, directories
//! and globs in, [`AccessRecord`]s out,
//! one at a time (memory is bounded by one line, whatever the file size).
//!
//! * [`expand_inputs`] turns `LOG...` arguments into files, rotated sets oldest first.
//! * [`LogReader::for_each`] reads them in that order and calls back once per parsed record;
//!   it returns [`ReadStats`] (counts, the first bad lines with `file:line` and a reason,
//!   per-file errors, the detected format of each file).
//!
//! Compression is detected by content (gzip magic `1f 8b`, multi-member), never by name. A
//! corrupt or truncated gzip stream ends that file with an entry in `errors`; the complete lines
//! decoded before it are kept. Lines longer than [`MAX_LINE`] are counted as bad and skipped.
//! Invalid UTF-8 is kept with U+FFFD replacements.
//!
//! The format is detected per file from its first non-empty lines (see [`Format`]).

mod inputs;
mod structured;
mod text;
mod time;

#[cfg(test)]
mod tests;

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use aiwaf_core::AccessRecord;
use anyhow::Result;

pub use inputs::expand_inputs;
use structured::CsvColumns;
use time::TimeCache;
pub use time::UtcTime;

/// Longest line accepted, in bytes; longer lines are counted as bad.
pub const MAX_LINE: usize = 64 * 1024;
/// How many bad lines are kept as samples.
pub const MAX_SAMPLES: usize = 5;
/// How many first non-empty lines decide a file's format.
const SNIFF_LINES: usize = 8;
const BUF_SIZE: usize = 256 * 1024;
const TOO_LONG: &str = "line longer than 64 KiB";

/// The first lines of a file, kept until its format is known (`None`: a line too long).
type Sample = Vec<(u64, Option<Vec<u8>>)>;

/// A log format, detected per file.
///
/// Detection: a first non-empty line that is a CSV header naming at least `timestamp`, `ip`,
/// `path` and `status_code` → [`Format::AiwafCsv`]. Otherwise each parser is tried on the first
/// 8 non-empty lines (`SNIFF_LINES`) and the one that parses most of them wins (ties: JSON lines,
/// then Envoy, then combined/common); combined when any of those lines had the quoted
/// referer and user agent, common otherwise. Nothing parsing → combined (every line is bad).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// nginx/Apache `combined`; also accepts `common` lines and a trailing response time:
    /// a number WITH a decimal point is seconds (nginx `$request_time`, `0.123`), one WITHOUT is
    /// milliseconds (Envoy `%DURATION%`, as in this project's `envoy-config/envoy.yaml`); also
    /// `rt=`, `response-time=`, `request_time=` (same rule).
    Combined,
    /// nginx/Apache `common` (no referer, user agent or response time).
    Common,
    /// Envoy's default access-log format (file/stdout loggers without `log_format`):
    /// `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
    /// %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
    /// %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
    /// "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`. It has no downstream
    /// address: the client is the LAST `X-Forwarded-For` entry (the one the nearest proxy, or
    /// Envoy itself with `use_remote_address`, appended; earlier entries are client-supplied);
    /// a line without one is bad ("no client address"). `%DURATION%` is milliseconds, bytes
    /// are `%BYTES_SENT%`, there is no referer, status `0` (no response sent) is kept.
    Envoy,
    /// One JSON object per line; field mapping in `structured::parse_json`.
    JsonLines,
    /// AIWAF's CSV request log with a header line (`timestamp, ip, method, path, status_code,
    /// content_length, response_time_ms, referer, user_agent`, any order; a missing method is GET).
    AiwafCsv,
}

/// What a read did.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// Files opened.
    pub files: usize,
    /// Non-empty lines read (CSV header lines excluded).
    pub lines: u64,
    /// Lines that gave a record.
    pub parsed: u64,
    /// Lines counted as bad (unparseable, too long).
    pub skipped: u64,
    /// The first [`MAX_SAMPLES`] bad lines: `file:line: reason: text` (text cut to 120 chars).
    pub bad_samples: Vec<String>,
    /// Per-file errors (cannot open, corrupt or truncated gzip, read error), with the file name.
    pub errors: Vec<String>,
    /// The detected format of every file that had a non-empty line.
    pub formats: Vec<(PathBuf, Format)>,
}

/// Streams records out of log files.
pub struct LogReader;

impl LogReader {
    /// Reads `paths` in order (use [`expand_inputs`] first) and calls `f` once per record.
    /// Problems with a file are recorded in [`ReadStats::errors`] and reading goes on with the
    /// next file; the `Result` is kept for callers that later want to abort.
    pub fn for_each(paths: &[PathBuf], mut f: impl FnMut(AccessRecord)) -> Result<ReadStats> {
        let mut stats = ReadStats::default();
        for path in paths {
            read_file(path, &mut stats, &mut f);
        }
        Ok(stats)
    }
}

/// Opens a file, transparently gunzipping when it starts with the gzip magic.
fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let mut raw = BufReader::with_capacity(BUF_SIZE, std::fs::File::open(path)?);
    let head = raw.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            BUF_SIZE,
            flate2::bufread::MultiGzDecoder::new(raw),
        )))
    } else {
        Ok(Box::new(raw))
    }
}

enum Line {
    Text,
    TooLong,
}

/// Reads the next line (without `\n`/`\r\n`) into `buf`, at most [`MAX_LINE`] bytes kept;
/// `None` at the end. A final line without newline counts; on a read error the partial
/// line is dropped.
fn next_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let (part, used, done) = match memchr(chunk) {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        if !too_long {
            if buf.len() + part.len() > MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        r.consume(used);
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Some(Line::TooLong));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(Line::Text))
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

/// A file's parser, once its format is known.
enum Parser {
    Clf,
    Envoy,
    Json,
    Csv(CsvColumns, Vec<String>),
}

impl Parser {
    fn parse(&mut self, line: &[u8], cache: &mut TimeCache) -> Result<AccessRecord, &'static str> {
        match self {
            Parser::Clf => text::parse_clf(line, cache).map(|(r, _)| r),
            Parser::Envoy => text::parse_envoy(line, cache),
            Parser::Json => structured::parse_json(line),
            Parser::Csv(cols, scratch) => cols.parse(line, scratch),
        }
    }
}

fn detect(sample: &Sample) -> (Format, Parser, bool) {
    let Some(first) = sample.iter().find_map(|(_, l)| l.as_deref()) else {
        return (Format::Combined, Parser::Clf, false);
    };
    if let Some(cols) = CsvColumns::from_header(first) {
        return (Format::AiwafCsv, Parser::Csv(cols, Vec::new()), true);
    }
    let mut cache = TimeCache::default();
    let (mut json, mut envoy, mut clf, mut combined) = (0, 0, 0, false);
    for l in sample.iter().filter_map(|(_, l)| l.as_deref()) {
        json += usize::from(structured::parse_json(l).is_ok());
        envoy += usize::from(text::parse_envoy(l, &mut cache).is_ok());
        if let Ok((_, c)) = text::parse_clf(l, &mut cache) {
            clf += 1;
            combined |= c;
        }
    }
    if json > 0 && json >= envoy && json >= clf {
        (Format::JsonLines, Parser::Json, false)
    } else if envoy > 0 && envoy >= clf {
        (Format::Envoy, Parser::Envoy, false)
    } else if combined || clf == 0 {
        (Format::Combined, Parser::Clf, false)
    } else {
        (Format::Common, Parser::Clf, false)
    }
}

fn sample_text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(480)]);
    s.chars().take(120).collect()
}

fn bad(stats: &mut ReadStats, path: &Path, lineno: u64, reason: &str, line: &[u8]) {
    stats.skipped += 1;
    if stats.bad_samples.len() < MAX_SAMPLES {
        stats.bad_samples.push(format!(
            "{}:{lineno}: {reason}: {}",
            path.display(),
            sample_text(line)
        ));
    }
}

fn read_file(path: &Path, stats: &mut ReadStats, f: &mut dyn FnMut(AccessRecord)) {
    let mut r = match open(path) {
        Ok(r) => r,
        Err(e) => {
            stats
                .errors
                .push(format!("{}: cannot read: {e}", path.display()));
            return;
        }
    };
    stats.files += 1;
    let mut buf = Vec::with_capacity(4096);
    let mut lineno = 0u64;
    let mut sample: Sample = Vec::new();
    let mut state: Option<Parser> = None;
    let mut cache = TimeCache::default();
    let mut failure = None;
    loop {
        let line = match next_line(&mut *r, &mut buf) {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        lineno += 1;
        if let Line::TooLong = line {
            if state.is_some() {
                stats.lines += 1;
                bad(stats, path, lineno, TOO_LONG, b"");
            } else {
                // Keeps the samples in line order.
                sample.push((lineno, None));
            }
            continue;
        }
        if is_blank(&buf) {
            continue;
        }
        match state.as_mut() {
            Some(p) => {
                stats.lines += 1;
                match p.parse(&buf, &mut cache) {
                    Ok(rec) => {
                        stats.parsed += 1;
                        f(rec);
                    }
                    Err(reason) => bad(stats, path, lineno, reason, &buf),
                }
            }
            None => {
                sample.push((lineno, Some(buf.clone())));
                if sample.len() == SNIFF_LINES {
                    state = Some(start(path, stats, &mut sample, &mut cache, f));
                }
            }
        }
    }
    if state.is_none() && !sample.is_empty() {
        start(path, stats, &mut sample, &mut cache, f);
    }
    if let Some(e) = failure {
        stats.errors.push(format!(
            "{}: read stopped after line {lineno}: {e}",
            path.display()
        ));
    }
}

/// Decides the format from the buffered first lines and parses them.
fn start(
    path: &Path,
    stats: &mut ReadStats,
    sample: &mut Sample,
    cache: &mut TimeCache,
    f: &mut dyn FnMut(AccessRecord),
) -> Parser {
    let (format, mut parser, header) = detect(sample);
    stats.formats.push((path.to_path_buf(), format));
    let mut header = header;
    for (lineno, line) in sample.drain(..) {
        let Some(line) = line else {
            stats.lines += 1;
            bad(stats, path, lineno, TOO_LONG, b"");
            continue;
        };
        if std::mem::take(&mut header) {
            continue;
        }
        stats.lines += 1;
        match parser.parse(&line, cache) {
            Ok(rec) => {
                stats.parsed += 1;
                f(rec);
            }
            Err(reason) => bad(stats, path, lineno, reason, &line),
        }
    }
    parser
}
