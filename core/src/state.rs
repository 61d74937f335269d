//! Per-client memory shared by every worker of one proxy, in a fixed number of slots.
//!
//! Envoy runs one wasm VM per worker thread; state kept in a VM's own memory would be per
//! worker (a limit of 20 with 4 workers would really be 80). The engine keeps per-client state
//! in a [`Store`]: the filter implements it over proxy-wasm shared data (one map per Envoy
//! process, updated with compare-and-swap), tests over a `HashMap`.
//!
//! **Bounded memory.** Shared data never deletes a key and client addresses are chosen by
//! attackers, so records live in `AIWAF_STATE_SLOTS` fixed slots chosen by a seeded hash of
//! (client, scope). A client whose slot is taken by another evicts it. Eviction loses the
//! evicted client's counters and dynamic block: a benign client loses only its history (it is
//! then counted from zero, never refused by mistake); an attacker could only evict its own
//! block by sending from other addresses whose slots collide with its own, which it cannot
//! compute without the per-process seed and which, with those addresses, it could attack from
//! anyway. The static blocklist in the bundle is never evicted.

use std::net::IpAddr;

use crate::features::{Counters, Snapshot};
use crate::net::canonical;
use crate::text::Fnv;

/// Compare-and-swap storage of fixed-size records, numbered `0..slots`.
pub trait Store {
    /// The record bytes in `slot` and a version token (`0` when the slot was never written).
    fn load(&mut self, slot: u32) -> (Option<Vec<u8>>, u32);
    /// Writes `bytes` into `slot` unless it changed since `version` was read; false on a
    /// conflict (another worker wrote first), and the caller retries.
    fn store(&mut self, slot: u32, bytes: &[u8], version: u32) -> bool;
    /// A per-process secret that keys the slot hash, so clients cannot aim at each other's slots.
    fn seed(&self) -> u64;
}

/// What a record counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The client across all paths: rate window and dynamic block.
    Client,
    /// The client under one `PATH_RULES` prefix with its own `RATE_LIMIT`.
    Rule(u16),
    /// The client on one route (16-bit hash of the normalised path): honeypot form timing.
    Route(u16),
    /// The client on one manifest route with its own rate limit (16-bit hash of its template).
    Endpoint(u16),
}

impl Scope {
    fn code(self) -> (u8, u16) {
        match self {
            Scope::Client => (0, 0),
            Scope::Rule(i) => (1, i),
            Scope::Route(h) => (2, h),
            Scope::Endpoint(h) => (3, h),
        }
    }
}

/// One slot's content: who it belongs to and their counters. 80 bytes on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Record {
    kind: u8,
    scope: u16,
    client: [u8; 16],
    /// Index of the current rate window (`now_ms / window_ms`).
    pub(crate) window: u32,
    /// Requests in the current window.
    pub(crate) current: u32,
    /// Requests in the previous window.
    pub(crate) previous: u32,
    /// Dynamic block end, Unix milliseconds (0: not blocked).
    pub(crate) blocked_until: u64,
    /// Blocks so far in the escalation period.
    pub(crate) offenses: u8,
    /// Detector index that caused the block.
    pub(crate) reason: u8,
    /// When the last block started, Unix seconds.
    pub(crate) last_block: u32,
    /// Route scope: when the client last loaded the page, Unix milliseconds (0: never).
    pub(crate) page_loaded: u64,
    /// UUID tamper score in the current UUID window.
    pub(crate) uuid_score: i16,
    /// Start of the UUID window, Unix seconds.
    pub(crate) uuid_since: u32,
    /// 404s on non-exempt paths in the current window.
    pub(crate) not_found: u16,
    /// Start of the behaviour window (404s and errors), Unix seconds.
    pub(crate) not_found_since: u32,
    /// Other 4xx/5xx answers in the behaviour window (an anomaly feature).
    pub(crate) errors: u16,
    /// Request counters of the `burst` anomaly feature.
    pub(crate) counters: Counters,
}

const RECORD_LEN: usize = 80;
const RECORD_VERSION: u8 = 3;
/// Compare-and-swap attempts before an update is given up (the request is then judged on what
/// was read; contention on one client's slot is that client's own concurrent requests).
const MAX_ATTEMPTS: usize = 8;

impl Record {
    fn new(client: IpAddr, scope: Scope) -> Record {
        let (kind, scope) = scope.code();
        Record {
            kind,
            scope,
            client: client_bytes(client),
            ..Record::default()
        }
    }

    fn owned_by(&self, client: IpAddr, scope: Scope) -> bool {
        (self.kind, self.scope) == scope.code() && self.client == client_bytes(client)
    }

    fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0] = RECORD_VERSION;
        b[1] = self.kind;
        b[2..4].copy_from_slice(&self.scope.to_le_bytes());
        b[4..20].copy_from_slice(&self.client);
        b[20..24].copy_from_slice(&self.window.to_le_bytes());
        b[24..28].copy_from_slice(&self.current.to_le_bytes());
        b[28..32].copy_from_slice(&self.previous.to_le_bytes());
        b[32..40].copy_from_slice(&self.blocked_until.to_le_bytes());
        b[40] = self.offenses;
        b[41] = self.reason;
        b[44..48].copy_from_slice(&self.last_block.to_le_bytes());
        b[48..56].copy_from_slice(&self.page_loaded.to_le_bytes());
        b[56..58].copy_from_slice(&self.uuid_score.to_le_bytes());
        b[58..62].copy_from_slice(&self.uuid_since.to_le_bytes());
        b[62..64].copy_from_slice(&self.not_found.to_le_bytes());
        b[64..68].copy_from_slice(&self.not_found_since.to_le_bytes());
        b[68..70].copy_from_slice(&self.errors.to_le_bytes());
        b[70..74].copy_from_slice(&self.counters.burst_window.to_le_bytes());
        b[74..76].copy_from_slice(&self.counters.burst_current.to_le_bytes());
        b[76..78].copy_from_slice(&self.counters.burst_previous.to_le_bytes());
        b
    }

    /// `None` for anything that is not a record of this version (treated as an empty slot).
    fn decode(b: &[u8]) -> Option<Record> {
        if b.len() != RECORD_LEN || b[0] != RECORD_VERSION {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut client = [0u8; 16];
        client.copy_from_slice(&b[4..20]);
        let u64_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        Some(Record {
            kind: b[1],
            scope: u16::from_le_bytes([b[2], b[3]]),
            client,
            window: u32_at(20),
            current: u32_at(24),
            previous: u32_at(28),
            blocked_until: u64_at(32),
            offenses: b[40],
            reason: b[41],
            last_block: u32_at(44),
            page_loaded: u64_at(48),
            uuid_score: i16::from_le_bytes([b[56], b[57]]),
            uuid_since: u32_at(58),
            not_found: u16::from_le_bytes([b[62], b[63]]),
            not_found_since: u32_at(64),
            errors: u16::from_le_bytes([b[68], b[69]]),
            counters: Counters {
                burst_window: u32_at(70),
                burst_current: u16::from_le_bytes([b[74], b[75]]),
                burst_previous: u16::from_le_bytes([b[76], b[77]]),
            },
        })
    }
}

impl Record {
    /// Counts a request toward `burst` and returns what the response phase needs.
    pub(crate) fn count_request(&mut self, now_ms: u64) -> Snapshot {
        let burst = self.counters.count_burst(now_ms);
        Snapshot {
            burst,
            not_found: self.not_found,
            errors: self.errors,
            since: self.not_found_since,
        }
    }

    /// Counts a response in the behaviour window: a 404, and with `all` any other 4xx/5xx as
    /// an error. A window older than `window` seconds is emptied first, so a stale count is
    /// never read as recent; the window opens at its first counted response.
    pub(crate) fn count_status(&mut self, status: u16, now: u32, window: u32, all: bool) {
        if self.not_found_since != 0 && now.saturating_sub(self.not_found_since) > window {
            self.not_found = 0;
            self.errors = 0;
            self.not_found_since = 0;
        }
        let counted = status == 404 || (all && status >= 400);
        if !counted {
            return;
        }
        if self.not_found_since == 0 {
            self.not_found_since = now.max(1);
        }
        if status == 404 {
            self.not_found = self.not_found.saturating_add(1);
        } else {
            self.errors = self.errors.saturating_add(1);
        }
    }
}

/// The state key of a client: an IPv4 address, or an IPv6 client's /64. One IPv6 subscriber
/// holds a whole /64 and could rotate through it past every per-address limit.
fn client_bytes(ip: IpAddr) -> [u8; 16] {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => {
            let mut b = v6.octets();
            b[8..].fill(0);
            b
        }
    }
}

/// The two candidate slots of (client, scope): the record lives in the first unless that one
/// held another client's running block when the record was created (see [`update`]).
fn candidates(seed: u64, client: IpAddr, scope: Scope, slots: u32) -> [u32; 2] {
    [
        slot_of(seed, client, scope, slots),
        slot_of(seed ^ 0x9E37_79B9_7F4A_7C15, client, scope, slots),
    ]
}

/// The slot of (client, scope) among `slots`.
pub(crate) fn slot_of(seed: u64, client: IpAddr, scope: Scope, slots: u32) -> u32 {
    use std::hash::Hasher;
    let mut h = Fnv::default();
    h.write(&seed.to_le_bytes());
    let (kind, scope) = scope.code();
    h.write(&[kind]);
    h.write(&scope.to_le_bytes());
    h.write(&client_bytes(client));
    // FNV's low bits are weak for short keys; fold the high half in before reducing.
    let x = h.finish();
    ((x ^ (x >> 32)) % u64::from(slots.max(1))) as u32
}

/// Starts a new window (at `now`, Unix seconds) when none is open or the open one is older
/// than `window` seconds; true when it did, and the caller resets its counter. Windows are
/// counted from their first event (fixed, not sliding: one timestamp per counter).
pub(crate) fn restart_window(since: &mut u32, now: u32, window: u32) -> bool {
    let stale = *since == 0 || now.saturating_sub(*since) > window;
    if stale {
        *since = now;
    }
    stale
}

/// What an update did to a record.
pub(crate) struct Updated {
    /// The record after the update.
    pub(crate) record: Record,
    /// The slot held another client's record, which was replaced.
    pub(crate) evicted: bool,
}

/// Read-modify-write of the record of (client, scope) with compare-and-swap retries. `change`
/// gets the client's current record (a fresh one if it has none) and may be called several
/// times under contention, so it must be a pure function.
///
/// A record whose dynamic block is still running is never evicted by another client's record:
/// otherwise ordinary traffic (page loads of many users) would lift blocks. A client whose
/// first slot holds such a record uses its second slot, so a flood from an address colliding
/// with a blocked one is still counted (found by the benchmark sandbox); only when both slots
/// hold other clients' running blocks is the update computed but not stored.
pub(crate) fn update(
    store: &mut dyn Store,
    slots: u32,
    client: IpAddr,
    scope: Scope,
    now_ms: u64,
    mut change: impl FnMut(&mut Record),
) -> Updated {
    let [first, second] = candidates(store.seed(), client, scope, slots);
    let mut last = Record::new(client, scope);
    let mut evicted = false;
    for _ in 0..MAX_ATTEMPTS {
        let (slot, version, existing) = match load(store, first) {
            (v, Some(r)) if r.owned_by(client, scope) => (first, v, Some(r)),
            loaded_first => {
                // The record may live in the second slot; otherwise the first slot is taken
                // unless it holds a running block, then the second.
                let loaded_second = load(store, second);
                let blocked = |r: &Option<Record>| r.is_some_and(|r| r.blocked_until > now_ms);
                match (loaded_first, loaded_second) {
                    (_, (v, Some(r))) if r.owned_by(client, scope) => (second, v, Some(r)),
                    ((v, r), _) if !blocked(&r) => (first, v, r),
                    (_, (v, r)) if !blocked(&r) => (second, v, r),
                    _ => {
                        // Both slots hold other clients' running blocks: no memory.
                        let mut record = Record::new(client, scope);
                        change(&mut record);
                        last = record;
                        evicted = false;
                        break;
                    }
                }
            }
        };
        evicted = existing.is_some_and(|r| !r.owned_by(client, scope));
        let mut record = match existing {
            Some(r) if r.owned_by(client, scope) => r,
            _ => Record::new(client, scope),
        };
        change(&mut record);
        last = record;
        if store.store(slot, &record.encode(), version) {
            break;
        }
    }
    Updated {
        record: last,
        evicted,
    }
}

/// The record in `slot` (`None` for an empty slot or bytes of another version) and its version.
fn load(store: &mut dyn Store, slot: u32) -> (u32, Option<Record>) {
    let (bytes, version) = store.load(slot);
    (version, bytes.as_deref().and_then(Record::decode))
}

/// Reads the record of (client, scope) without changing it.
pub(crate) fn read(
    store: &mut dyn Store,
    slots: u32,
    client: IpAddr,
    scope: Scope,
) -> Option<Record> {
    let [first, second] = candidates(store.seed(), client, scope, slots);
    match load(store, first).1 {
        Some(r) if r.owned_by(client, scope) => Some(r),
        _ => load(store, second).1.filter(|r| r.owned_by(client, scope)),
    }
}

/// A `HashMap` store for tests and the CLI, with the same compare-and-swap semantics as the
/// proxy's shared data.
#[derive(Debug, Default)]
pub struct MemoryStore {
    slots: std::collections::HashMap<u32, (Vec<u8>, u32)>,
    next_version: u32,
    seed: u64,
}

impl MemoryStore {
    /// An empty store with a fixed seed (tests are deterministic).
    pub fn new(seed: u64) -> MemoryStore {
        MemoryStore {
            seed,
            ..MemoryStore::default()
        }
    }

    /// Number of slots ever written: bounded by `AIWAF_STATE_SLOTS` whatever the traffic.
    pub fn used_slots(&self) -> usize {
        self.slots.len()
    }
}

impl Store for MemoryStore {
    fn load(&mut self, slot: u32) -> (Option<Vec<u8>>, u32) {
        match self.slots.get(&slot) {
            Some((b, v)) => (Some(b.clone()), *v),
            None => (None, 0),
        }
    }

    fn store(&mut self, slot: u32, bytes: &[u8], version: u32) -> bool {
        let current = self.slots.get(&slot).map_or(0, |(_, v)| *v);
        if version != 0 && version != current {
            return false;
        }
        self.next_version += 1;
        self.slots.insert(slot, (bytes.to_vec(), self.next_version));
        true
    }

    fn seed(&self) -> u64 {
        self.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let mut r = Record::new("203.0.113.9".parse().unwrap(), Scope::Rule(3));
        r.window = 7;
        r.current = 21;
        r.previous = 2;
        r.blocked_until = 1_700_000_000_123;
        r.offenses = 2;
        r.reason = 5;
        r.last_block = 1_700_000_000;
        r.page_loaded = 1_700_000_000_500;
        r.uuid_score = -4;
        r.uuid_since = 1_700_000_001;
        r.not_found = 5;
        r.not_found_since = 1_700_000_002;
        assert_eq!(Record::decode(&r.encode()), Some(r));
        assert_eq!(Record::decode(b"garbage"), None);
        assert_eq!(Record::decode(&[0u8; RECORD_LEN]), None);
    }

    #[test]
    fn compare_and_swap_conflicts_are_retried() {
        struct Flaky {
            inner: MemoryStore,
            fail_next: usize,
        }
        impl Store for Flaky {
            fn load(&mut self, slot: u32) -> (Option<Vec<u8>>, u32) {
                self.inner.load(slot)
            }
            fn store(&mut self, slot: u32, bytes: &[u8], version: u32) -> bool {
                if self.fail_next > 0 {
                    // Another worker wins the race: it increments the same counter.
                    self.fail_next -= 1;
                    let ip = "198.51.100.1".parse().unwrap();
                    let mut other = read(&mut self.inner, 64, ip, Scope::Client)
                        .unwrap_or(Record::new(ip, Scope::Client));
                    other.current += 1;
                    self.inner.store(slot, &other.encode(), 0);
                    return false;
                }
                self.inner.store(slot, bytes, version)
            }
            fn seed(&self) -> u64 {
                1
            }
        }
        let mut s = Flaky {
            inner: MemoryStore::new(1),
            fail_next: 2,
        };
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        let u = update(&mut s, 64, ip, Scope::Client, 0, |r| r.current += 1);
        // Two concurrent increments won the race, then ours applied on top: nothing is lost.
        assert_eq!(u.record.current, 3);
        assert_eq!(
            read(&mut s.inner, 64, ip, Scope::Client).unwrap().current,
            3
        );
    }

    #[test]
    fn a_million_clients_stay_within_the_slots() {
        let mut s = MemoryStore::new(42);
        let slots = 4096;
        let mut evictions = 0u32;
        for i in 0..1_000_000u32 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::from(
                0x2001_0db8_0000_0000_0000_0000_0000_0001u128 | (u128::from(i) << 64),
            ));
            if update(&mut s, slots, ip, Scope::Client, 0, |r| r.current += 1).evicted {
                evictions += 1;
            }
        }
        assert!(
            s.used_slots() <= slots as usize,
            "{} slots used",
            s.used_slots()
        );
        assert!(
            s.used_slots() > slots as usize * 9 / 10,
            "the hash spreads clients over the slots"
        );
        assert!(evictions > 990_000, "{evictions}");
    }

    #[test]
    fn running_blocks_are_not_evicted() {
        let mut s = MemoryStore::new(5);
        let blocked: IpAddr = "203.0.113.9".parse().unwrap();
        update(&mut s, 1, blocked, Scope::Client, 1_000, |r| {
            r.blocked_until = 60_000
        });
        // One slot: every other client collides with the blocked one.
        for i in 0..100u32 {
            let other = IpAddr::V4(std::net::Ipv4Addr::from(0xC612_0000 + i));
            let u = update(&mut s, 1, other, Scope::Route(7), 2_000, |r| {
                r.page_loaded = 2_000
            });
            assert!(!u.evicted);
        }
        assert_eq!(
            read(&mut s, 1, blocked, Scope::Client).map(|r| r.blocked_until),
            Some(60_000)
        );
        // Once the block has ended, the slot is ordinary again.
        let other: IpAddr = "198.18.0.1".parse().unwrap();
        assert!(update(&mut s, 1, other, Scope::Client, 61_000, |r| r.current = 1).evicted);
    }

    #[test]
    fn a_client_colliding_with_a_running_block_still_has_memory() {
        let mut s = MemoryStore::new(5);
        let slots = 64;
        let blocked: IpAddr = "203.0.113.9".parse().unwrap();
        let [home, _] = candidates(5, blocked, Scope::Client, slots);
        update(&mut s, slots, blocked, Scope::Client, 1_000, |r| {
            r.blocked_until = 60_000
        });
        // A flooding client whose first slot is the blocked client's (but not its second).
        let flooder = (1..u32::MAX)
            .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0xC612_0000 + i)))
            .find(|ip| {
                let [a, b] = candidates(5, *ip, Scope::Client, slots);
                a == home && b != home
            })
            .unwrap();
        for _ in 0..30 {
            update(&mut s, slots, flooder, Scope::Client, 2_000, |r| {
                r.current += 1
            });
        }
        assert_eq!(
            read(&mut s, slots, flooder, Scope::Client).map(|r| r.current),
            Some(30)
        );
        assert_eq!(
            read(&mut s, slots, blocked, Scope::Client).map(|r| r.blocked_until),
            Some(60_000),
            "the block stays"
        );
        // After the block ends the flooder keeps its record (in its second slot), not a
        // fresh one in its first.
        update(&mut s, slots, flooder, Scope::Client, 61_000, |r| {
            r.current += 1
        });
        assert_eq!(
            read(&mut s, slots, flooder, Scope::Client).map(|r| r.current),
            Some(31)
        );
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let mut s = MemoryStore::new(5);
        for host in 1..=30u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, host));
            update(&mut s, 64, ip, Scope::Client, 0, |r| r.current += 1);
        }
        let one: IpAddr = "2001:db8:0:1::ffff".parse().unwrap();
        assert_eq!(
            read(&mut s, 64, one, Scope::Client).map(|r| r.current),
            Some(30)
        );
        let other: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        assert_eq!(read(&mut s, 64, other, Scope::Client), None);
    }

    #[test]
    fn the_seed_changes_the_slot() {
        let ip = "203.0.113.9".parse().unwrap();
        let a = (0..8)
            .map(|seed| slot_of(seed, ip, Scope::Client, 1 << 16))
            .collect::<std::collections::HashSet<_>>();
        assert!(a.len() > 4);
    }
}
