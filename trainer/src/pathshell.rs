//! `aiwaf pathshell`: browse the route manifest's path tree and exempt prefixes (issue 5).
//!
//! AIWAF's `aiwaf_pathshell` lets an operator walk the application's routes and exempt a
//! subtree without typing paths by hand. Here the tree comes from the route manifest
//! (`.aiwaf/paths.json`, read once at start) and every change goes to the policy file through
//! the ops commands (`aiwaf exempt path add|remove|list`), so validation, the atomic write and
//! the preservation of the operator's key order are the same code, not a second copy.
//!
//! One command per line; the prompt is printed only when stdin is a terminal, so a script piped
//! in gets clean output. Mistakes (unknown command, missing node, refused edit) print an
//! `error:` line and the session goes on; only an input/output failure (the policy cannot be
//! read or written, stdout is gone) ends it with an error.

mod tree;

use std::io::{BufRead, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aiwaf_core::normalize_path;
use aiwaf_manifest_gen::Manifest;
use anyhow::{anyhow, bail, Context as _, Result};

use crate::cli::PathshellArgs;
use crate::ops::{self, ExemptAction, ExemptKind, OpsCommand, PolicyArg, Report};
use tree::{is_template, path_of, Tree};

/// Runs the interactive shell on stdin/stdout: the `aiwaf pathshell` command.
pub fn run(args: &PathshellArgs) -> Result<ExitCode> {
    let mut shell = Shell::open(&args.manifest, &args.policy)?;
    if !shell.tree.regex.is_empty() {
        eprintln!(
            "note: {} regex route(s) not shown (a regular expression is not a path): {}",
            shell.tree.regex.len(),
            shell.tree.regex.join(", ")
        );
    }
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if interactive {
        writeln!(
            out,
            "{} routes from {}; exemptions go to {}. `help` lists the commands.",
            shell.tree.routes,
            args.manifest.display(),
            args.policy.display()
        )?;
    }
    shell.serve(&mut stdin.lock(), &mut out, interactive)?;
    Ok(ExitCode::SUCCESS)
}

/// The shell's state: the tree it browses, where it is, and the policy it edits. Kept apart
/// from stdin/stdout so a session can be scripted and checked in tests.
pub(crate) struct Shell {
    /// The manifest's path tree.
    tree: Tree,
    /// The current node, as segments below the root.
    cwd: Vec<String>,
    /// The policy file that `exempt` and `unexempt` edit.
    policy: PathBuf,
}

/// What the policy's AIWAF_EXEMPT_PATHS says about one path.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    /// Not exempt.
    No,
    /// The path itself is listed (as the filter compares: normalised), as written in the list.
    Listed(String),
    /// A listed prefix above it covers it.
    Under(String),
}

const HELP: &str = "\
ls [PATH]         list the nodes below the current one (or PATH): directories end in `/`,
                  routes show their methods and category, [exempt] marks exempt paths
cd [PATH]         go to PATH (a child, `..`, `/abs/path`); no PATH: the root
up                same as `cd ..`
pwd               print the current path
info [PATH]       what the manifest says about the routes at the current node (or PATH)
exempt [PATH]     add the current path (or PATH) to AIWAF_EXEMPT_PATHS in the policy
unexempt [PATH]   remove it from AIWAF_EXEMPT_PATHS
help              this text
exit, quit        leave (so does the end of input)
";

impl Shell {
    /// Reads the manifest and checks that the policy can be read, so a wrong file is refused
    /// before the first prompt rather than at the first `exempt`.
    pub(crate) fn open(manifest: &Path, policy: &Path) -> Result<Shell> {
        let text = std::fs::read_to_string(manifest).with_context(|| {
            format!(
                "cannot read the route manifest {} (`aiwaf init` writes it)",
                manifest.display()
            )
        })?;
        let manifest = Manifest::from_json(&text)
            .with_context(|| format!("{} is not a valid route manifest", manifest.display()))?;
        let shell = Shell {
            tree: Tree::build(&manifest),
            cwd: Vec::new(),
            policy: policy.to_path_buf(),
        };
        shell.exempt_paths()?;
        Ok(shell)
    }

    /// Reads commands from `input` until `exit`/`quit` or its end, printing `aiwaf:/path> `
    /// before each when `prompt` is set (stdin is a terminal).
    pub(crate) fn serve(
        &mut self,
        input: &mut dyn BufRead,
        out: &mut dyn Write,
        prompt: bool,
    ) -> Result<()> {
        let mut buf = Vec::new();
        loop {
            if prompt {
                write!(out, "aiwaf:{}> ", path_of(&self.cwd))?;
                out.flush()?;
            }
            buf.clear();
            if input.read_until(b'\n', &mut buf)? == 0 {
                if prompt {
                    writeln!(out)?;
                }
                return Ok(());
            }
            let more = self.exec(&String::from_utf8_lossy(&buf), out)?;
            out.flush()?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Runs one command line, writing its output to `out`. Returns false when the session
    /// ends. A mistake is an `error:` line and `Ok(true)`; `Err` is an input/output failure
    /// (the policy cannot be read or written, `out` is gone), after which going on is pointless.
    pub(crate) fn exec(&mut self, line: &str, out: &mut dyn Write) -> Result<bool> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(true);
        }
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let result = match cmd {
            "exit" | "quit" => return Ok(false),
            "help" | "?" => out.write_all(HELP.as_bytes()).map_err(Into::into),
            "pwd" => no_arg(cmd, &args)
                .and_then(|()| writeln!(out, "{}", path_of(&self.cwd)).map_err(Into::into)),
            "ls" => one_arg(cmd, &args).and_then(|a| self.ls(a, out)),
            "cd" => one_arg(cmd, &args).and_then(|a| self.cd(a.unwrap_or("/"))),
            "up" => no_arg(cmd, &args).and_then(|()| self.cd("..")),
            "info" => one_arg(cmd, &args).and_then(|a| self.info(a, out)),
            "exempt" => one_arg(cmd, &args).and_then(|a| self.exempt(a, out)),
            "unexempt" => one_arg(cmd, &args).and_then(|a| self.unexempt(a, out)),
            _ => Err(anyhow!(
                "unknown command `{cmd}` (`help` lists the commands)"
            )),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) if is_io(&e) => Err(e),
            Err(e) => {
                writeln!(out, "error: {e:#}")?;
                Ok(true)
            }
        }
    }

    /// The segments of `arg` (absolute, or relative to the current node; `.`, `..` and empty
    /// segments understood, `..` at the root staying there), or which node is missing.
    fn resolve(&self, arg: &str) -> Result<Vec<String>> {
        let mut segs = if arg.starts_with('/') {
            Vec::new()
        } else {
            self.cwd.clone()
        };
        for part in arg.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    segs.pop();
                }
                name => {
                    let node = self
                        .tree
                        .node(&segs)
                        .ok_or_else(|| anyhow!("no such path: {}", path_of(&segs)))?;
                    if !node.children.contains_key(name) {
                        segs.push(name.to_owned());
                        bail!("no such path in the manifest: {}", path_of(&segs));
                    }
                    segs.push(name.to_owned());
                }
            }
        }
        Ok(segs)
    }

    /// The segments of the optional argument, or the current node.
    fn target(&self, arg: Option<&str>) -> Result<Vec<String>> {
        arg.map_or_else(|| Ok(self.cwd.clone()), |a| self.resolve(a))
    }

    fn cd(&mut self, arg: &str) -> Result<()> {
        self.cwd = self.resolve(arg)?;
        Ok(())
    }

    fn ls(&self, arg: Option<&str>, out: &mut dyn Write) -> Result<()> {
        let segs = self.target(arg)?;
        let node = self
            .tree
            .node(&segs)
            .ok_or_else(|| anyhow!("no such path: {}", path_of(&segs)))?;
        if node.children.is_empty() {
            writeln!(out, "(nothing below {})", path_of(&segs))?;
            return Ok(());
        }
        let exempt = self.exempt_paths()?;
        let mut rows = Vec::with_capacity(node.children.len());
        for (name, child) in &node.children {
            let label = if child.children.is_empty() {
                name.clone()
            } else {
                format!("{name}/")
            };
            let mut notes = Vec::new();
            if !child.routes.is_empty() {
                let routes: Vec<String> =
                    child.routes.iter().map(|(_, r)| tree::summary(r)).collect();
                notes.push(format!("({})", routes.join("; ")));
            }
            let mut path = segs.clone();
            path.push(name.clone());
            match status(&exempt, &path_of(&path)) {
                Status::No => {}
                Status::Listed(_) => notes.push("[exempt]".to_owned()),
                Status::Under(by) => notes.push(format!("[exempt: under {by}]")),
            }
            rows.push((label, notes.join(" ")));
        }
        let width = rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (label, notes) in rows {
            if notes.is_empty() {
                writeln!(out, "{label}")?;
            } else {
                writeln!(out, "{label:<width$}  {notes}")?;
            }
        }
        Ok(())
    }

    fn info(&self, arg: Option<&str>, out: &mut dyn Write) -> Result<()> {
        let segs = self.target(arg)?;
        let path = path_of(&segs);
        let node = self
            .tree
            .node(&segs)
            .ok_or_else(|| anyhow!("no such path: {path}"))?;
        if node.routes.is_empty() {
            writeln!(out, "{path}: no route of its own")?;
        }
        for (key, route) in &node.routes {
            writeln!(out, "{}", tree::details(key, route))?;
        }
        let line = match status(&self.exempt_paths()?, &path) {
            Status::No => "not exempt".to_owned(),
            Status::Listed(e) => format!("exempt (AIWAF_EXEMPT_PATHS has {e})"),
            Status::Under(e) => format!("exempt (under {e} in AIWAF_EXEMPT_PATHS)"),
        };
        writeln!(out, "{path}: {line}")?;
        Ok(())
    }

    /// The path `exempt`/`unexempt` would write for `arg`, or why there is none: a template
    /// segment matches only itself literally, and `/` would exempt every path.
    fn exemptible(&self, arg: Option<&str>) -> Result<String> {
        let segs = self.target(arg)?;
        let path = path_of(&segs);
        if let Some(i) = segs.iter().position(|s| is_template(s)) {
            bail!(
                "cannot exempt {path}: `{}` is a route parameter and exemptions are literal path prefixes (it would only match a request for `{}` itself); exempt {} to cover everything below it",
                segs[i],
                segs[i],
                path_of(&segs[..i])
            );
        }
        if segs.is_empty() {
            bail!("will not exempt `/`: it covers every path (`aiwaf exempt path add /` does it if you mean it)");
        }
        Ok(path)
    }

    fn exempt(&self, arg: Option<&str>, out: &mut dyn Write) -> Result<()> {
        let path = self.exemptible(arg)?;
        let under = match status(&self.exempt_paths()?, &path) {
            Status::Under(by) => Some(by),
            _ => None,
        };
        let report = self.ops(ExemptAction::Add {
            entry: path,
            reason: None,
            policy: self.policy_arg(),
        })?;
        out.write_all(report.text.as_bytes())?;
        if let Some(by) = under {
            writeln!(out, "note: {by} already covered it")?;
        }
        Ok(())
    }

    fn unexempt(&self, arg: Option<&str>, out: &mut dyn Write) -> Result<()> {
        let path = self.exemptible(arg)?;
        if let Status::Under(by) = status(&self.exempt_paths()?, &path) {
            bail!("{path} is not listed itself: the exemption {by} covers it (`unexempt {by}` removes that)");
        }
        let report = self.ops(ExemptAction::Remove {
            entry: path,
            policy: self.policy_arg(),
        })?;
        out.write_all(report.text.as_bytes())?;
        Ok(())
    }

    /// AIWAF_EXEMPT_PATHS in force (the default when the policy does not set it), as
    /// `aiwaf exempt path list --json` reads it.
    fn exempt_paths(&self) -> Result<Vec<String>> {
        let report = self.ops(ExemptAction::List {
            json: true,
            policy: self.policy_arg(),
        })?;
        let v: serde_json::Value = serde_json::from_str(&report.text)
            .context("unexpected output of `aiwaf exempt path list --json`")?;
        Ok(v["entries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn policy_arg(&self) -> PolicyArg {
        PolicyArg {
            policy: self.policy.clone(),
        }
    }

    /// An `aiwaf exempt path …` command, run by the ops code.
    fn ops(&self, action: ExemptAction) -> Result<Report> {
        let cmd = OpsCommand::Exempt {
            kind: ExemptKind::Path { action },
        };
        ops::dispatch(&cmd, crate::now())
    }
}

/// How the filter compares an exemption prefix: normalised, `/` as the empty prefix.
fn prefix_key(p: &str) -> String {
    let p = normalize_path(p).path;
    if p == "/" {
        String::new()
    } else {
        p
    }
}

/// Whether `path` is exempt by `entries`, matched as the filter matches them (normalised, on
/// segment boundaries). An exact entry wins over a covering one.
fn status(entries: &[String], path: &str) -> Status {
    let key = prefix_key(path);
    if let Some(e) = entries.iter().find(|e| prefix_key(e) == key) {
        return Status::Listed(e.clone());
    }
    entries
        .iter()
        .find(|e| {
            let p = prefix_key(e);
            p.is_empty()
                || (key.starts_with(&p) && matches!(key.as_bytes().get(p.len()), None | Some(b'/')))
        })
        .map_or(Status::No, |e| Status::Under(e.clone()))
}

/// An input/output failure somewhere in the error's causes: the end of the session.
fn is_io(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<std::io::Error>())
}

/// Refuses arguments to a command that takes none (`pwd x` is a typo, not `pwd`).
fn no_arg(cmd: &str, args: &[&str]) -> Result<()> {
    if args.is_empty() {
        Ok(())
    } else {
        bail!("`{cmd}` takes no argument")
    }
}

/// The optional single argument of a command; more is refused rather than ignored.
fn one_arg<'a>(cmd: &str, args: &[&'a str]) -> Result<Option<&'a str>> {
    match args {
        [] => Ok(None),
        [a] => Ok(Some(a)),
        _ => bail!("`{cmd}` takes at most one argument"),
    }
}

#[cfg(test)]
mod tests;
