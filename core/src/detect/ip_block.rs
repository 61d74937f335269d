//! `ip_block`: clients on the bundle's blocklist are refused on every path.

use crate::bundle::BlockEntry;
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::net::IpSet;

/// The compiled blocklist.
#[derive(Debug, Default)]
pub(crate) struct IpBlock {
    set: IpSet,
    entries: Vec<BlockEntry>,
}

impl IpBlock {
    pub(crate) fn new(entries: &[BlockEntry]) -> IpBlock {
        let mut set = IpSet::default();
        for (i, e) in entries.iter().enumerate() {
            set.insert(e.ip, i);
        }
        IpBlock {
            set,
            entries: entries.to_vec(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Refuses a client inside an unexpired entry.
    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>) -> Option<Finding> {
        let client = ctx.req.client?;
        if self.set.is_empty() {
            return None;
        }
        self.set.find_all(client).find_map(|i| {
            let e = &self.entries[i];
            let live = e.expires_at.is_none_or(|t| t > ctx.now);
            live.then(|| {
                Finding::new(
                    DetectorId::IpBlock,
                    "blocklisted",
                    format!("{} {}", e.ip, e.reason),
                )
            })
        })
    }
}
