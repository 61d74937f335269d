//! Per-client state and the slot-hash seed in Envoy's shared data (one map per Envoy process,
//! shared by every worker's VM).

use std::time::{SystemTime, UNIX_EPOCH};

use aiwaf_core::Store;
use proxy_wasm::hostcalls;

/// Per-client state in Envoy's shared data: one map per Envoy process, shared by the VMs of
/// every worker, updated with compare-and-swap. Keys are the engine's fixed slot numbers, so
/// the map never holds more than `AIWAF_STATE_SLOTS` entries.
#[derive(Clone, Copy)]
pub struct SharedStore {
    pub seed: u64,
}

fn slot_key(slot: u32) -> String {
    format!("aiwaf:slot:{slot}")
}

impl Store for SharedStore {
    fn load(&mut self, slot: u32) -> (Option<Vec<u8>>, u32) {
        match hostcalls::get_shared_data(&slot_key(slot)) {
            Ok((bytes, cas)) => (bytes, cas.unwrap_or(0)),
            Err(_) => (None, 0),
        }
    }

    fn store(&mut self, slot: u32, bytes: &[u8], version: u32) -> bool {
        let cas = (version != 0).then_some(version);
        hostcalls::set_shared_data(&slot_key(slot), Some(bytes), cas).is_ok()
    }

    fn seed(&self) -> u64 {
        self.seed
    }
}

/// The slot-hash seed of this Envoy process: the first worker to configure stores one derived
/// from its start time; every worker then reads back the stored value, so all agree. It is not
/// derived from anything a client sees.
pub fn shared_seed(now: SystemTime) -> u64 {
    const KEY: &str = "aiwaf:seed";
    let read = || {
        hostcalls::get_shared_data(KEY)
            .ok()
            .and_then(|(bytes, _)| bytes)
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_le_bytes)
    };
    if let Some(seed) = read() {
        return seed;
    }
    let nanos = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0) as u64;
    let candidate = nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA1FA_5EED;
    let _ = hostcalls::set_shared_data(KEY, Some(&candidate.to_le_bytes()), None);
    read().unwrap_or(candidate)
}
