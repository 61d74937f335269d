//! The value classifier: SQL injection, XSS, path traversal and command injection signatures.
//!
//! Ordering is cheapest-first: a byte scan decides which families can possibly match, so the
//! common benign value (`en-US`, `42`, `john`) costs one pass over its bytes and no allocation.
//! SQLi and XSS lean on libinjection's tokenizers (few false positives on prose); a handful of
//! `regex_lite` rules (compiled once) cover what libinjection misses. Command injection uses a
//! hand-written scanner (metacharacter, then a known command word) instead of a large regex.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::text::NeedleSet;

use regex_lite::Regex;

use super::{decode, AttackClass};

// Byte classes seen in a value; a family runs only if its trigger bits are present.
const QUOTE: u16 = 1; // ' " `
const ANGLE: u16 = 1 << 1; // < >
const SEMI: u16 = 1 << 2; // ;
const PIPE_AMP: u16 = 1 << 3; // | &
const DOLLAR: u16 = 1 << 4; // $
const PAREN: u16 = 1 << 5; // ( )
const DOT: u16 = 1 << 6; // .
const SLASH: u16 = 1 << 7; // / \
const DASH_HASH: u16 = 1 << 8; // - #
const EQ: u16 = 1 << 9; // =
const COLON: u16 = 1 << 10; // :
const NEWLINE: u16 = 1 << 11; // \n \r
const UPPER: u16 = 1 << 12; // ASCII upper case (need a lowercase copy)
const SPACE: u16 = 1 << 13; // whitespace
const STAR: u16 = 1 << 14; // *
const BRACE: u16 = 1 << 15; // { }

/// One pass over the bytes, returning which classes occur.
fn scan(b: &[u8]) -> u16 {
    let mut m = 0u16;
    for &c in b {
        m |= match c {
            b'\'' | b'"' | b'`' => QUOTE,
            b'<' | b'>' => ANGLE,
            b';' => SEMI,
            b'|' | b'&' => PIPE_AMP,
            b'$' => DOLLAR,
            b'(' | b')' => PAREN,
            b'.' => DOT,
            b'/' | b'\\' => SLASH,
            b'-' | b'#' => DASH_HASH,
            b'=' => EQ,
            b':' => COLON,
            b'\n' | b'\r' => NEWLINE,
            b'A'..=b'Z' => UPPER,
            b' ' | b'\t' | 0x0b | 0x0c => SPACE,
            b'*' => STAR,
            b'{' | b'}' => BRACE,
            _ => 0,
        };
    }
    m
}

/// Classifies one decoded value, then its HTML-entity-decoded and base64-decoded forms when
/// those differ. `path` mode is for URL paths: dot segments are the caller's normaliser's job
/// (only sensitive file names are checked) and base64 is tried on the last segment.
pub(crate) fn classify(v: &str, path: bool) -> Option<(AttackClass, &'static str)> {
    if let Some(hit) = classify_plain(v, path) {
        return Some(hit);
    }
    if let Some(once) = decode::decode_html_entities(v) {
        if let Some(hit) = classify_plain(&once, path) {
            return Some(hit);
        }
        if let Some(twice) = decode::decode_html_entities(&once) {
            if let Some(hit) = classify_plain(&twice, path) {
                return Some(hit);
            }
        }
    }
    let candidate = if path {
        v.rsplit('/').next().unwrap_or("")
    } else {
        v
    };
    if let Some(text) = decode::decode_base64_text(candidate) {
        // one level only: base64 inside base64 is not worth the cost
        if let Some(hit) = classify_plain(&text, false) {
            return Some(hit);
        }
        if let Some(ent) = decode::decode_html_entities(&text) {
            return classify_plain(&ent, false);
        }
    }
    None
}

/// One classification pass over a value, no further decoding.
fn classify_plain(v: &str, path: bool) -> Option<(AttackClass, &'static str)> {
    let traversal = !path;
    let b = v.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let m = scan(b);
    let interesting = m & !(UPPER | SPACE);
    let lower: Cow<'_, str> = if m & UPPER != 0 {
        Cow::Owned(v.to_ascii_lowercase())
    } else {
        Cow::Borrowed(v)
    };
    let l = lower.as_ref();
    if interesting == 0 {
        // Only letters, digits, spaces and harmless punctuation: the one thing worth a look is
        // a keyword-only SQL injection such as `1 union select 1,2`.
        if SQL_WORDS.iter().any(|w| l.contains(w)) {
            return sqli(v, l, m);
        }
        return None;
    }
    if m & (DOT | SLASH | COLON) != 0 {
        if let Some(r) = path_traversal(l, m, traversal) {
            return Some((AttackClass::PathTraversal, r));
        }
    }
    if m & (ANGLE | QUOTE | COLON | EQ | PAREN | BRACE) != 0 {
        if let Some(r) = xss(v, l, m) {
            return Some((AttackClass::Xss, r));
        }
    }
    if m & (QUOTE | PAREN | DASH_HASH | EQ | SEMI | STAR | PIPE_AMP | DOLLAR) != 0
        || l.contains("select")
    {
        if let Some(hit) = sqli(v, l, m) {
            return Some(hit);
        }
    }
    if m & (SEMI | PIPE_AMP | DOLLAR | NEWLINE | QUOTE | ANGLE) != 0 {
        if let Some(r) = command_injection(l, m) {
            return Some((AttackClass::CommandInjection, r));
        }
    }
    if m & SLASH != 0 && starts_with_bin_path(l) {
        return Some((AttackClass::CommandInjection, "shell_path"));
    }
    if m & (PAREN | EQ | SLASH) != 0 || l.contains(" exist") || l.contains(" defined") {
        if let Some(r) = windows_batch(l) {
            return Some((AttackClass::CommandInjection, r));
        }
    }
    // Shell quoting/globbing evasions (`c'a't /et[c]/pa\sswd`): strip them and look again for
    // commands and sensitive files.
    if let Some(plain) = shell_deobfuscate(l) {
        let pm = scan(plain.as_bytes());
        if let Some(r) = path_traversal(&plain, pm, false) {
            return Some((AttackClass::PathTraversal, r));
        }
        if let Some(r) = command_injection(&plain, pm) {
            return Some((AttackClass::CommandInjection, r));
        }
        if starts_with_bin_path(&plain) {
            return Some((AttackClass::CommandInjection, "shell_path"));
        }
    }
    None
}

/// Binary directories whose paths give away a command.
const BIN_DIRS: &[&str] = &[
    "/usr/local/bin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/bin/",
    "/sbin/",
];

/// A value that is itself a command line: `/bin/cat ...`, `/usr/bin/id`.
fn starts_with_bin_path(l: &str) -> bool {
    let t = l.trim_start();
    BIN_DIRS.iter().any(|d| {
        t.strip_prefix(d).is_some_and(|rest| {
            let word = rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .next()
                .unwrap_or("");
            STRONG_CMDS.contains(&word) || WEAK_CMDS.contains(&word)
        })
    })
}

/// Removes shell quoting and glob brackets used to break up command words; `None` if absent.
fn shell_deobfuscate(l: &str) -> Option<String> {
    let noisy = |c: char| matches!(c, '\'' | '"' | '\\' | '[' | ']');
    if !l.contains(noisy) && !l.contains("$@") {
        return None;
    }
    let out: String = l.replace("$@", "").chars().filter(|&c| !noisy(c)).collect();
    Some(out)
}

/// cmd.exe control flow at the start of a value (`FOR /F ... IN (...) DO`, `IF EXIST x ...`).
fn windows_batch(l: &str) -> Option<&'static str> {
    static R: OnceLock<(Rule, Rule)> = OnceLock::new();
    let (for_re, if_re) = R.get_or_init(|| {
        (
            re(r"^[\s&;|]*for\s+(?:/[dlrf]\s+(?:[^%]*\s)?)?%%?[~\w/]\S*\s+in\s*\(.*\)\s*do\b"),
            re(r"^[\s&;|]*if\s+(?:/i\s+)?(?:not\s+)?(?:exist\s|defined\s|errorlevel\s|cmdextversion\s|%\w+%\s+(?:equ|neq|lss|leq|gtr|geq)\s|\S+==)"),
        )
    });
    let t = l.trim_start();
    if t.starts_with("for") && for_re.is_match(t) {
        return Some("batch_for");
    }
    if t.starts_with("if") && if_re.is_match(t) {
        return Some("batch_if");
    }
    None
}

/// SQL words that justify a SQLi pass on a value without any SQL punctuation.
const SQL_WORDS: &[&str] = &["select", "xp_cmdshell", "information_schema", "waitfor"];

// ---------------------------------------------------------------- path traversal

/// Files and wrappers that have no business in a parameter value.
/// Files and schemes that only an attacker asks a web application for.
const SENSITIVE: NeedleSet = NeedleSet::new(&[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/motd",
    "/proc/self/",
    "/proc/version",
    "c:\\windows",
    "c:/windows",
    "\\windows\\system32",
    "/windows/system32",
    "win.ini",
    "boot.ini",
    "system.ini",
    "ntuser.dat",
    "\\c$\\",
    "web-inf/web.xml",
    "/.ssh/",
    "/.aws/credentials",
    "file://",
    "php://",
    "phar://",
    "zip://",
    "expect://",
    "jar:file:",
]);

/// The rule for a [`SENSITIVE`] hit in `b`, found in one pass.
fn find_sensitive(b: &[u8]) -> Option<&'static str> {
    SENSITIVE.find(b).map(|n| {
        if n.contains(':') && !n.starts_with("c:") {
            "file_scheme"
        } else {
            "sensitive_file"
        }
    })
}

/// `../`, `..\`, a trailing `/..`, or a sensitive file/wrapper.
fn path_traversal(l: &str, m: u16, dot_dot: bool) -> Option<&'static str> {
    let b = l.as_bytes();
    if dot_dot && m & DOT != 0 {
        let mut i = 0;
        while let Some(p) = memfind(&b[i..], b"..") {
            let at = i + p;
            let before = if at == 0 { None } else { b.get(at - 1) };
            let mut j = at + 2;
            // `....//` and `..;/` evasions
            while matches!(b.get(j), Some(b'.')) {
                j += 1;
            }
            if matches!(b.get(j), Some(b';')) {
                j += 1;
            }
            match b.get(j) {
                Some(b'/') | Some(b'\\') => return Some("dot_dot_slash"),
                None if matches!(before, Some(b'/') | Some(b'\\')) => return Some("dot_dot_slash"),
                _ => {}
            }
            i = j.max(at + 1);
            if i >= b.len() {
                break;
            }
        }
    }
    if m & (SLASH | COLON | DOT) != 0 {
        return find_sensitive(l.as_bytes());
    }
    None
}

/// Byte-substring search (std has no `&[u8]` find); values are short, this is fine.
fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------- XSS

/// Regexes for XSS shapes libinjection's HTML5 tokenizer misses (script-less JS, handlers).
struct XssRes {
    handler: Rule,
    js_call: Rule,
    js_uri: Rule,
}

fn xss_res() -> &'static XssRes {
    static R: OnceLock<XssRes> = OnceLock::new();
    R.get_or_init(|| XssRes {
        // an event handler attribute after a delimiter (`" onclick=`, `<svg/onload=`)
        handler: re(r#"(?:^|[\s"'/;<>`])on[a-z]{3,24}\s*=\s*[^\s&]"#),
        // script-less JavaScript execution primitives
        js_call: re(
            r#"(?:\b(?:alert|prompt|confirm)\s*(?:\?\.\s*)?(?:\(|`|\)|\.call|\.apply|\.bind)|\bdocument\s*\[\s*['"`]|\((?:alert|prompt|confirm)\)|\beval\s*\(|\bdocument\s*\.\s*(?:cookie|domain|write)|\bwindow\s*\.\s*location|fromcharcode\s*\(|\batob\s*\(|\.constructor\s*\(|\bsettimeout\s*\(|\bnew\s+function\s*\()"#,
        ),
        // javascript:/vbscript:/data:text/html URIs, tolerating whitespace/control obfuscation
        js_uri: re(
            r#"(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t|livescript)\s*:|data\s*:\s*text/html"#,
        ),
    })
}

/// A compiled rule. Rules are constants covered by unit tests; should one ever fail to compile,
/// it degrades to "never matches" rather than panicking on the request path.
struct Rule(Option<Regex>);

impl Rule {
    fn is_match(&self, s: &str) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(s))
    }

    fn find<'h>(&self, s: &'h str) -> Option<regex_lite::Match<'h>> {
        self.0.as_ref().and_then(|r| r.find(s))
    }

    fn captures<'h>(&self, s: &'h str) -> Option<regex_lite::Captures<'h>> {
        self.0.as_ref().and_then(|r| r.captures(s))
    }
}

/// Compiles a rule (once, inside a `OnceLock`).
fn re(src: &str) -> Rule {
    Rule(Regex::new(src).ok())
}

fn xss(v: &str, l: &str, m: u16) -> Option<&'static str> {
    if m & ANGLE != 0 && (l.contains("<script") || l.contains("</script")) {
        return Some("script_tag");
    }
    let r = xss_res();
    if m & COLON != 0 {
        // `javascript:` must be followed by code (a call, assignment, escape), so the prose
        // "JavaScript: the basics" passes.
        if let Some(hit) = r.js_uri.find(l) {
            let rest = &l.as_bytes()[hit.end()..];
            if hit.as_str().starts_with("data")
                || rest
                    .iter()
                    .any(|c| matches!(c, b'(' | b'`' | b'=' | b'&' | b'%' | b'\\' | b'['))
            {
                return Some("javascript_uri");
            }
        }
    }
    if m & EQ != 0 && m & (ANGLE | QUOTE | SLASH) != 0 && r.handler.is_match(l) {
        return Some("event_handler");
    }
    if m & (PAREN | QUOTE) != 0 && r.js_call.is_match(l) {
        return Some("js_call");
    }
    if m & (ANGLE | QUOTE | EQ) != 0 {
        // An XML prolog / processing instruction (`<?xml version="1.0"?>`) trips libinjection's
        // HTML5 tokenizer; judge only what follows it.
        let mut rest = v;
        while let Some(pi) = rest.trim_start().strip_prefix("<?") {
            match pi.find("?>") {
                Some(end) => rest = &pi[end + 2..],
                None => break,
            }
        }
        if libinjectionrs::detect_xss(rest.as_bytes()).is_injection() {
            return Some("libinjection_xss");
        }
    }
    None
}

// ---------------------------------------------------------------- SQL injection

struct SqlRes {
    union_select: Rule,
    tautology: Rule,
    quote_comment: Rule,
    stacked: Rule,
    functions: Rule,
    numeric_tautology: Rule,
    nosql: Rule,
}

fn sql_res() -> &'static SqlRes {
    static R: OnceLock<SqlRes> = OnceLock::new();
    R.get_or_init(|| SqlRes {
        union_select: re(r"\bunion[\s()/*!+0-9]*(?:all|distinct)?[\s()/*!+0-9]*select\b"),
        tautology: re(
            r#"['"`)]\s*(?:or|and|xor|\|\||&&)\s*[('"`]*\s*[\w@.]+\s*['"`)]*\s*(?:=|<>|!=|<=|>=|<|>|\blike\b|\bis\b|\bin\s*\(|\brlike\b|\bregexp\b)|['"`]\s*(?:or|\|\|)\s*(?:true|false|not\b|\d+\s*(?:--|#|/\*|;|$))"#,
        ),
        quote_comment: re(
            r#"['"`]\)*(?:--(?:[\s\-+]|$)|#$|#\s|/\*|;\s*(?:--|#|$))|['"`][^'"`]*\S--\s*$"#,
        ),
        stacked: re(
            r#";\s*(?:drop\s+(?:table|database|schema|user|view|procedure|function)|delete\s+from|insert\s+into|update\s+\w+\s+set|truncate\s+table|alter\s+(?:table|user|database)|create\s+(?:table|user|database|procedure|function)|exec(?:ute)?\s+\w|declare\s+@|shutdown\b|select\s+.+\bfrom\b|select\s+\w+\s*\(|waitfor\s+delay|grant\s+\w)|['"`]\s*;\s*(?:select|insert|update|delete|exec|declare|create|drop)\b"#,
        ),
        functions: re(
            r"\b(?:sleep\s*\(\s*\d|benchmark\s*\(\s*\d|pg_sleep\s*\(|waitfor\s+delay\s+'|load_file\s*\(|extractvalue\s*\(|updatexml\s*\(|dbms_pipe\s*\.|utl_inaddr\s*\.|utl_http\s*\.|xp_cmdshell|sp_executesql|information_schema\b|@@version\b|group_concat\s*\(|into\s+(?:out|dump)file\b)",
        ),
        // MongoDB query operators where plain values belong (`u_id[$ne]=`, `{"$where": ...}`)
        nosql: re(
            r#"(?:^|[\[{"'\s,])\$(?:where|ne|gt|gte|lt|lte|regex|exists|nin|or|and|nor|not|expr|elemmatch|function)(?:$|[\]"'\s:])|\bdb\.\w+\.(?:insert|find|remove|update|drop|aggregate)\w*\s*\("#,
        ),
        numeric_tautology: re(r"(?:^|[\s(])(\d+)\s+(?:or|and)\s+(\d+)\s*=\s*(\d+)\b"),
    })
}

fn sqli(v: &str, l: &str, m: u16) -> Option<(AttackClass, &'static str)> {
    let r = sql_res();
    let hit = |rule| Some((AttackClass::Sqli, rule));
    if l.contains("union") && l.contains("select") && r.union_select.is_match(l) {
        return hit("union_select");
    }
    if m & QUOTE != 0 && r.tautology.is_match(l) {
        return hit("boolean_tautology");
    }
    if m & SEMI != 0 && r.stacked.is_match(l) {
        return hit("stacked_query");
    }
    if m & QUOTE != 0 && m & (DASH_HASH | STAR | SEMI) != 0 && r.quote_comment.is_match(l) {
        return hit("quote_comment");
    }
    if m & (PAREN | QUOTE | SPACE) != 0 && r.functions.is_match(l) {
        return hit("sql_function");
    }
    if m & (DOLLAR | PAREN) != 0 && r.nosql.is_match(l) {
        return hit("nosql_operator");
    }
    if m & EQ != 0 {
        if let Some(c) = r.numeric_tautology.captures(l) {
            if c.get(2).map(|x| x.as_str()) == c.get(3).map(|x| x.as_str()) {
                return hit("boolean_tautology");
            }
        }
    }
    if libinjection_sqli(v) {
        return hit("libinjection_sqli");
    }
    None
}

/// libinjection's SQLi test, with its fingerprint-level false positives on prose filtered out.
fn libinjection_sqli(v: &str) -> bool {
    let res = libinjectionrs::detect_sqli(v.as_bytes());
    if !res.is_injection() {
        return false;
    }
    // Prose such as `while (foo) is bar.` or `a quarter (24%) of people` fingerprints as
    // bare words, functions and numbers (`T(n)o`, `nf(1o`). Only trust a fingerprint that has
    // real SQL structure: a string (quote), comment, keyword, UNION, statement, `;` or logic op.
    res.fingerprint
        .as_ref()
        .is_none_or(|f| f.as_str().bytes().any(|c| STRONG_TOKENS.contains(&c)))
}

/// libinjection token types that show SQL structure rather than prose: string, comment,
/// keyword, union, statement start, semicolon, logical operator, group-like keyword.
const STRONG_TOKENS: &[u8] = b"sckUE;&B";

// ---------------------------------------------------------------- command injection

/// Commands that are suspicious right after a shell metacharacter, whatever follows.
const STRONG_CMDS: &[&str] = &[
    "base64",
    "bash",
    "bitsadmin",
    "busybox",
    "certutil",
    "chmod",
    "chown",
    "cmd",
    "cmd.exe",
    "crontab",
    "csh",
    "curl",
    "dash",
    "getent",
    "gcc",
    "id",
    "iex",
    "ifconfig",
    "invoke-expression",
    "invoke-webrequest",
    "ipconfig",
    "irb",
    "iwr",
    "ksh",
    "ls",
    "mkfifo",
    "nc",
    "ncat",
    "netcat",
    "netstat",
    "nohup",
    "nslookup",
    "passwd",
    "perl",
    "php",
    "powershell",
    "powershell.exe",
    "pwd",
    "python",
    "python2",
    "python3",
    "ruby",
    "sh",
    "socat",
    "strace",
    "systeminfo",
    "tasklist",
    "tcsh",
    "telnet",
    "tftp",
    "uname",
    "useradd",
    "wget",
    "whoami",
    "wmic",
    "xargs",
    "xterm",
    "zsh",
];

/// Commands that are also ordinary words: suspicious only with a shell-looking argument next.
const WEAK_CMDS: &[&str] = &[
    "awk", "cat", "cp", "dd", "dig", "dir", "echo", "env", "eval", "exec", "export", "find", "ftp",
    "grep", "head", "host", "java", "kill", "less", "more", "mv", "net", "node", "ping", "printf",
    "ps", "rm", "scp", "sed", "set", "sleep", "sort", "ssh", "start", "tail", "tar", "tee",
    "timeout", "touch", "type", "ver",
];

/// A shell metacharacter (`;`, `|`, `&`, newline, `` ` ``, `$(`) followed by a command word.
fn command_injection(l: &str, m: u16) -> Option<&'static str> {
    let b = l.as_bytes();
    if m & DOLLAR != 0 && (l.contains("${ifs}") || l.contains("$ifs")) {
        return Some("shell_ifs");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let subst = matches!(c, b'$' | b'<' | b'>') && matches!(b.get(i + 1), Some(b'('));
        let start = match c {
            b';' | b'|' | b'&' | b'\n' | b'\r' | b'`' => Some(i + 1),
            _ if subst => Some(i + 2),
            _ => None,
        };
        i += 1;
        let Some(mut j) = start else { continue };
        // skip repeated metachars / spaces (`&&`, `||`, `; `)
        while matches!(b.get(j), Some(b' ' | b'\t' | b'&' | b'|' | b'(' | b'{')) {
            j += 1;
        }
        // Every metacharacter of this run leads to the same word: scan the run once (a value
        // of 64 KiB of `|` was quadratic).
        i = i.max(j);
        // sudo, absolute paths to bin dirs
        if b[j.min(b.len())..].starts_with(b"sudo ") {
            j += 5;
        }
        for prefix in [
            &b"/usr/local/bin/"[..],
            b"/usr/bin/",
            b"/usr/sbin/",
            b"/bin/",
            b"/sbin/",
        ] {
            if b[j.min(b.len())..].starts_with(prefix) {
                j += prefix.len();
                break;
            }
        }
        let word_end = b[j.min(b.len())..]
            .iter()
            .position(|&x| !(x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'-')))
            .map_or(b.len(), |p| j + p);
        if word_end <= j {
            continue;
        }
        let Some(word) = l.get(j..word_end) else {
            continue;
        };
        let next = b.get(word_end).copied();
        if subst && WEAK_CMDS.contains(&word) {
            // `$(cat x)`, `<(sort y)`: command substitution needs no further evidence
            return Some("shell_substitution");
        }
        if STRONG_CMDS.contains(&word) {
            // the word must end there (`id` not `idea`), followed by space/metachar/end
            if next.is_none_or(is_cmd_follow) {
                return Some("shell_metachar");
            }
        } else if WEAK_CMDS.contains(&word)
            && matches!(next, Some(b'$' | b'<' | b'`' | b'|' | b';' | b'\n'))
        {
            return Some("shell_metachar");
        } else if WEAK_CMDS.contains(&word) && matches!(next, Some(b' ' | b'\t' | b'+')) {
            // an argument that looks like shell: path, flag, variable, quote, number
            let rest = &b[word_end..];
            let arg = rest
                .iter()
                .copied()
                .find(|x| !matches!(x, b' ' | b'\t' | b'+'));
            if matches!(
                arg,
                Some(
                    b'/' | b'-'
                        | b'$'
                        | b'\\'
                        | b'~'
                        | b'\''
                        | b'"'
                        | b'`'
                        | b'<'
                        | b'>'
                        | b'|'
                        | b';'
                        | b'%'
                        | b'0'..=b'9'
                )
            ) {
                return Some("shell_metachar");
            }
        }
    }
    None
}

/// What may follow a strong command word for it to be a command (not a prefix of a word).
fn is_cmd_follow(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b';'
            | b'|'
            | b'&'
            | b'`'
            | b')'
            | b'$'
            | b'<'
            | b'>'
            | b'\''
            | b'"'
            | b'+'
            | b'}'
    )
}

/// Test hook: every constant rule compiled (a broken one would silently never match).
#[cfg(test)]
pub(crate) fn all_rules_compile() -> bool {
    let x = xss_res();
    let s = sql_res();
    [
        &x.handler,
        &x.js_call,
        &x.js_uri,
        &s.union_select,
        &s.tautology,
        &s.quote_comment,
        &s.stacked,
        &s.functions,
        &s.numeric_tautology,
        &s.nosql,
    ]
    .iter()
    .all(|r| r.0.is_some())
}
