//! Reading, checking and writing the policy file: the one place that decides what an ops edit
//! may write.
//!
//! A policy is read twice: as the typed [`Bundle`] (what it means, defaults filled in, checked
//! by the filter's loader) and as an order-preserving [`Json`] tree (what the operator wrote).
//! Commands decide on the first and edit the second; [`Policy::save`] checks the edited text
//! with `Bundle::from_json` + `Engine::new`, exactly as the filter will, before replacing the
//! file atomically. So an edit never writes a policy the filter or `aiwaf train` would refuse,
//! and never touches what it did not edit.

use std::path::{Path, PathBuf};

use aiwaf_core::{Bundle, Engine};
use anyhow::{anyhow, Context as _, Result};

use super::json::{self, Json};

/// The policy file as read: typed and as written.
pub(crate) struct Policy {
    /// Where it lives (created on the first edit when missing).
    pub(crate) path: PathBuf,
    /// False when the file does not exist yet (it then counts as `{}`).
    pub(crate) exists: bool,
    /// What it means, defaults filled in.
    pub(crate) bundle: Bundle,
    /// What the operator wrote, in their key order.
    pub(crate) doc: Json,
}

impl Policy {
    /// Reads `path`; a missing file is `{}`. A file the filter's loader refuses is an error
    /// naming the key (nothing can be edited safely in a file whose meaning is unknown).
    pub(crate) fn load(path: &Path) -> Result<Policy> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Policy {
                    path: path.to_path_buf(),
                    exists: false,
                    bundle: Bundle::from_json(b"{}")?,
                    doc: Json::Object(Vec::new()),
                })
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let bundle =
            Bundle::from_json(&bytes).with_context(|| format!("{} is refused", path.display()))?;
        let doc = std::str::from_utf8(&bytes)
            .map_err(|e| anyhow!("{e}"))
            .and_then(|text| json::parse(text).map_err(|e| anyhow!(e)))
            .with_context(|| format!("{} cannot be edited", path.display()))?;
        Ok(Policy {
            path: path.to_path_buf(),
            exists: true,
            bundle,
            doc,
        })
    }

    /// Checks `doc` as the filter would and replaces the file with it atomically (temporary file
    /// in the same directory, then a rename). Returns the notes and warnings to show. On any
    /// refusal the file is left as it was and the error says so.
    pub(crate) fn save(&self, doc: &Json, now: u64) -> Result<Vec<String>> {
        let text = doc.pretty();
        let refused = |e: aiwaf_core::Error| {
            super::unchanged(&self.path, format!("the edited policy is refused: {e}"))
        };
        let bundle = Bundle::from_json(text.as_bytes()).map_err(refused)?;
        let (engine, mut notes) = check_policy(&bundle, now).map_err(refused)?;
        notes.extend(
            engine
                .warnings()
                .into_iter()
                .map(|w| format!("warning: {w}")),
        );
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Through a symlink to its target: renaming over the link would replace it by a file.
        let target = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        crate::push::write_atomically(&target, text.as_bytes())?;
        Ok(notes)
    }

    /// The array `key` of the `settings` object, created when absent with `current` (the
    /// effective value: the default when the key is not written, so adding one entry never drops
    /// the defaults).
    pub(crate) fn settings_list<'d>(
        doc: &'d mut Json,
        key: &str,
        current: &[String],
    ) -> Result<&'d mut Vec<Json>> {
        doc.entry("settings", || Json::Object(Vec::new()))
            .and_then(|s| {
                s.entry(key, || {
                    Json::Array(current.iter().map(|c| Json::str(c)).collect())
                })
            })
            .and_then(Json::items_mut)
            .ok_or_else(|| anyhow!("settings.{key} is not a list"))
    }
}

/// `Engine::new` for a policy. The one refusal a policy may carry is the missing or outdated
/// country table (key `geoip`): a policy's geo lists are compiled into the bundle by
/// `aiwaf bundle --geoip` / `aiwaf train --geoip`, so that is the expected state after a geo
/// edit, and an emergency blocklist edit must not wait for a GeoIP database. It is reported as a
/// note, and everything else is still checked.
pub(crate) fn check_policy(
    bundle: &Bundle,
    now: u64,
) -> Result<(Engine, Vec<String>), aiwaf_core::Error> {
    match Engine::new(bundle, now) {
        Ok(engine) => Ok((engine, Vec::new())),
        Err(e) if e.key() == Some("geoip") => {
            let mut rest = bundle.clone();
            rest.geoip = None;
            rest.settings.geo_block_enabled = false;
            let engine = Engine::new(&rest, now)?;
            Ok((
                engine,
                vec![format!(
                    "note: {e} (`aiwaf train --geoip DB.mmdb` compiles it too); until then the filter refuses this file as a bundle"
                )],
            ))
        }
        Err(e) => Err(e),
    }
}
