//! `probe`: requests for files a site should never serve (dotfiles, server-side scripts,
//! backups, system files) and for introspection endpoints that leak configuration or memory,
//! matched on the normalised path.
//!
//! Any segment counts, not only the last: `/wp-admin.php/x.css` is a PHP probe dressed up as a
//! stylesheet. `.well-known` is a standard and never a probe.

use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::text::{FastSet, NeedleSet};

/// Dot-directories and dotfiles whose only visitors are scanners.
const DOTFILES: &[&str] = &[
    ".env",
    ".git",
    ".svn",
    ".hg",
    ".bzr",
    ".htaccess",
    ".htpasswd",
    ".ds_store",
    ".aws",
    ".ssh",
    ".bash_history",
    ".npmrc",
    ".dockerenv",
    ".docker",
    ".idea",
    ".vscode",
    ".kube",
    ".pgpass",
    ".my.cnf",
    ".gitlab-ci.yml",
    ".travis.yml",
    ".config",
];

/// Backup, dump and editor-leftover extensions: always probes, whatever the site runs.
const BACKUP_EXTENSIONS: &[&str] = &["bak", "sql", "swp", "old", "orig", "save", "backup", "dump"];

/// System files reached through traversal or misrouted handlers.
const SYSTEM_FILES: NeedleSet = NeedleSet::new(&[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/hosts",
    "/proc/self/",
    "/windows/win.ini",
    "/win.ini",
    "/boot.ini",
    "/web-inf/web.xml",
    "/web-inf/",
]);

/// Server and framework introspection endpoints that hand out configuration, secrets or
/// memory, as a segment and the segments after it that make it one (empty: any). Apache's
/// status pages, Spring Boot's sensitive actuators, Jolokia, Symfony's profiler, Go's pprof.
/// Health, info and metrics actuators are left out: load balancers poll them. An app that
/// really serves one of these lists it in its route manifest (known literal routes skip this
/// detector) or disables `probe` for it with a `PATH_RULES` rule.
const EXPOSED_ENDPOINTS: &[(&str, &[&str])] = &[
    ("server-status", &[]),
    ("server-info", &[]),
    ("jolokia", &[]),
    ("_profiler", &[]),
    (
        "actuator",
        &[
            "env",
            "heapdump",
            "threaddump",
            "configprops",
            "mappings",
            "jolokia",
            "gateway",
            "shutdown",
            "logfile",
        ],
    ),
    ("debug", &["pprof"]),
];

/// Archive extensions: a probe when the file's name says it holds a site or database copy.
const ARCHIVE_EXTENSIONS: &[&str] = &["zip", "tar", "gz", "tgz", "7z", "rar", "bz2", "xz"];

/// Names, or name tokens (split on `_` and `-`), of site and database copies: `backup_old.zip`,
/// `www.tar.gz`, `db-dump.tgz`. `manual.zip` or `app.js.gz` are ordinary downloads.
const COPY_NAME_TOKENS: &[&str] = &[
    "backup",
    "backups",
    "bak",
    "dump",
    "db",
    "database",
    "sql",
    "www",
    "wwwroot",
    "webroot",
    "htdocs",
    "public_html",
];

/// True for `backup_old.zip`, `www.tar.gz` (given the segment and its last extension): an
/// archive named like a copy of the site or data.
fn is_copy_archive(seg: &str, ext: &str) -> bool {
    if !ARCHIVE_EXTENSIONS.contains(&ext) {
        return false;
    }
    let name = seg.split('.').next().unwrap_or(seg);
    COPY_NAME_TOKENS.contains(&name)
        || name
            .split(['_', '-'])
            .any(|token| COPY_NAME_TOKENS.contains(&token))
}

/// The compiled probe rules.
#[derive(Debug)]
pub(crate) struct Probe {
    extensions: FastSet<String>,
}

impl Probe {
    /// `file_extensions` is `AIWAF_FILE_EXTENSIONS` (with or without the leading dot).
    pub(crate) fn new(file_extensions: &[String]) -> Probe {
        let extensions = file_extensions
            .iter()
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .chain(BACKUP_EXTENSIONS.iter().map(|e| e.to_string()))
            .collect();
        Probe { extensions }
    }

    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>) -> Option<Finding> {
        let found =
            |reason, evidence: &str| Some(Finding::new(DetectorId::Probe, reason, evidence));
        let path = ctx.path.path.as_str();
        let mut segments = ctx.path.segments().peekable();
        while let Some(seg) = segments.next() {
            if let Some((_, next)) = EXPOSED_ENDPOINTS.iter().find(|(first, _)| *first == seg) {
                if next.is_empty() || segments.peek().is_some_and(|n| next.contains(n)) {
                    return found("probe_exposed_endpoint", path);
                }
            }
            if seg.starts_with('.') && seg != ".well-known" {
                let name = seg
                    .split('.')
                    .nth(1)
                    .map(|n| &seg[..n.len() + 1])
                    .unwrap_or(seg);
                if DOTFILES.contains(&seg) || DOTFILES.contains(&name) {
                    return found("probe_dotfile", seg);
                }
            }
            if let Some((_, ext)) = seg.rsplit_once('.') {
                if self.extensions.contains(ext) {
                    return found("probe_extension", seg);
                }
                if is_copy_archive(seg, ext) {
                    return found("probe_backup_archive", seg);
                }
            }
            if seg.ends_with('~') {
                return found("probe_extension", seg);
            }
        }
        if SYSTEM_FILES.find(path.as_bytes()).is_some() {
            return found("probe_system_file", path);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testutil::finding_for;

    #[test]
    fn probes_are_found_in_any_segment() {
        let cases = [
            ("/wp-admin.php", Some("probe_extension")),
            ("/.env", Some("probe_dotfile")),
            ("/.env.local", Some("probe_dotfile")),
            ("/.git/config", Some("probe_dotfile")),
            ("/app/.git/HEAD", Some("probe_dotfile")),
            ("/backup.bak", Some("probe_extension")),
            ("/db/dump.SQL", Some("probe_extension")),
            ("/index.php~", Some("probe_extension")),
            ("/wp-admin.php/x.css", Some("probe_extension")),
            ("/shell.php.", Some("probe_extension")),
            ("/x.asp%20", Some("probe_extension")),
            ("/default.jsp", Some("probe_extension")),
            ("/static/../.env", Some("probe_dotfile")),
            ("/%2e%2e/%2e%2e/etc/passwd", Some("probe_system_file")),
            ("/files/etc/passwd", Some("probe_system_file")),
            ("/WEB-INF/web.xml", Some("probe_system_file")),
            ("/server-status", Some("probe_exposed_endpoint")),
            ("/Server-Info", Some("probe_exposed_endpoint")),
            ("/actuator/env", Some("probe_exposed_endpoint")),
            ("/manage/actuator/heapdump", Some("probe_exposed_endpoint")),
            (
                "/jolokia/read/java.lang:type=Memory",
                Some("probe_exposed_endpoint"),
            ),
            ("/debug/pprof/goroutine", Some("probe_exposed_endpoint")),
            ("/_profiler/latest", Some("probe_exposed_endpoint")),
            ("/actuator/health", None),
            ("/actuator/prometheus", None),
            ("/actuator", None),
            ("/debug", None),
            ("/docs/server-status-page", None),
            ("/backup_old.zip", Some("probe_backup_archive")),
            ("/www.tar.gz", Some("probe_backup_archive")),
            ("/files/db-2024.tgz", Some("probe_backup_archive")),
            ("/public_html.rar", Some("probe_backup_archive")),
            ("/downloads/manual.zip", None),
            ("/static/app.js.gz", None),
            ("/backup", None),
            ("/db.json", None),
            ("/.well-known/security.txt", None),
            ("/", None),
            ("/products/42", None),
            ("/docs/php-guide", None),
            ("/static/app.css", None),
            ("/en/profile/", None),
        ];
        for (path, want) in cases {
            let got = finding_for(crate::detect::DetectorId::Probe, "{}", path);
            assert_eq!(got.map(|f| f.reason), want, "{path}");
        }
    }

    #[test]
    fn file_extensions_setting_is_honoured() {
        let b = r#"{"settings":{"AIWAF_FILE_EXTENSIONS":["cfm"]}}"#;
        let got = finding_for(crate::detect::DetectorId::Probe, b, "/index.cfm");
        assert_eq!(got.map(|f| f.reason), Some("probe_extension"));
        assert!(finding_for(crate::detect::DetectorId::Probe, b, "/index.php").is_none());
    }
}
