//! `probe`: requests for files a site should never serve (dotfiles, server-side scripts,
//! backups, system files), matched on the normalised path.
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
        let path = &ctx.path.path;
        for seg in ctx.path.segments() {
            if seg.starts_with('.') && seg != ".well-known" {
                let name = seg
                    .split('.')
                    .nth(1)
                    .map(|n| &seg[..n.len() + 1])
                    .unwrap_or(seg);
                if DOTFILES.contains(&seg) || DOTFILES.contains(&name) {
                    return Some(Finding::new(
                        DetectorId::Probe,
                        "probe_dotfile",
                        seg.to_string(),
                    ));
                }
            }
            if let Some((_, ext)) = seg.rsplit_once('.') {
                if self.extensions.contains(ext) {
                    return Some(Finding::new(
                        DetectorId::Probe,
                        "probe_extension",
                        seg.to_string(),
                    ));
                }
            }
            if seg.ends_with('~') {
                return Some(Finding::new(
                    DetectorId::Probe,
                    "probe_extension",
                    seg.to_string(),
                ));
            }
        }
        if SYSTEM_FILES.find(path.as_bytes()).is_some() {
            return Some(Finding::new(
                DetectorId::Probe,
                "probe_system_file",
                path.clone(),
            ));
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
