//! Request limits: a token bucket per peer and one per remote address.
//!
//! Threat: libp2p peer ids cost nothing, so a limit keyed only by peer id is bypassed by
//! connecting with a new key for every burst. All peers of one remote address therefore share
//! a second bucket, [`NetConfig::address_share`](super::NetConfig) times as large as a peer's.
//! Several honest nodes behind one address (a Land network's NAT, every node of a test on
//! 127.0.0.1) share it too, so a request refused for the address alone is refused without
//! a penalty: only a peer over its own limit is penalised. The same buckets charge other
//! costs ([`Budget`]); [`Recent`] bounds what the actor remembers per peer and document.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

/// Addresses whose buckets are kept; idle (full) ones are dropped when more arrive.
pub(super) const MAX_ADDRESSES: usize = 4096;

/// The address an IPv6 peer is limited by: its /64 network, which one host or site gets
/// whole (so the limit is not escaped with the next address of the same network).
pub(super) fn network_of(ip: std::net::Ipv6Addr) -> IpAddr {
    let mut octets = ip.octets();
    octets[8..].fill(0);
    IpAddr::V6(std::net::Ipv6Addr::from(octets))
}

/// A set that keeps its newest `cap` items: an insert past the cap forgets the oldest. For
/// what a node remembers of many peers or documents, each cheap to forget.
#[derive(Debug)]
pub(super) struct Recent<T> {
    seen: HashSet<T>,
    order: VecDeque<T>,
    cap: usize,
}

impl<T: Eq + std::hash::Hash + Clone> Recent<T> {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Inserts `item`; false when it is held already.
    pub(super) fn insert(&mut self, item: T) -> bool {
        if !self.seen.insert(item.clone()) {
            return false;
        }
        self.order.push_back(item);
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    pub(super) fn full(burst: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            refilled: now,
        }
    }

    fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let secs = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + secs * rate).min(burst);
        self.refilled = now;
    }

    /// Refills at `rate` per second up to `burst`, then takes one token if there is one.
    pub(super) fn take(&mut self, rate: f64, burst: f64, now: Instant) -> bool {
        self.take_n(1.0, rate, burst, now)
    }

    /// Like [`Bucket::take`], for `cost` tokens at once (all or none).
    pub(super) fn take_n(&mut self, cost: f64, rate: f64, burst: f64, now: Instant) -> bool {
        self.refill(rate, burst, now);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Within both limits.
    Admit,
    /// Over the peer's own limit: refused, and the peer is penalised.
    PeerOver,
    /// Over its address's limit only: refused without a penalty.
    AddressOver,
}

/// The buckets of the remote addresses.
#[derive(Debug)]
pub(super) struct AddressBuckets {
    rate: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
}

impl AddressBuckets {
    /// Buckets of `rate` requests per second and `burst`.
    pub(super) fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `ip`. With [`MAX_ADDRESSES`] addresses known, idle ones make room;
    /// if none is idle, a new address is let through untracked (its peers' own limits still
    /// hold): refusing it would let whoever holds the table lock new peers out.
    pub(super) fn take(&mut self, ip: IpAddr, now: Instant) -> bool {
        self.take_n(ip, 1.0, now)
    }

    /// Like [`AddressBuckets::take`], for `cost` tokens.
    pub(super) fn take_n(&mut self, ip: IpAddr, cost: f64, now: Instant) -> bool {
        let (rate, burst) = (self.rate, self.burst);
        if self.buckets.len() >= MAX_ADDRESSES && !self.buckets.contains_key(&ip) {
            self.buckets.retain(|_, b| {
                b.refill(rate, burst, now);
                b.tokens < burst
            });
            if self.buckets.len() >= MAX_ADDRESSES {
                return true;
            }
        }
        self.buckets
            .entry(ip)
            .or_insert_with(|| Bucket::full(burst, now))
            .take_n(cost, rate, burst, now)
    }

    /// Addresses tracked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.len()
    }
}

/// A rate and burst of some cost a peer, and its address, may cause. For reconciliation
/// replies the cost is bytes sent: a request of twenty bytes (an empty item list over the
/// whole key space) is answered with up to 1 MiB, by design, so that a new node learns a
/// whole inventory in a few round trips. The burst covers that several times over at full
/// scale (2M items are 128 MB); beyond it, the rate bounds what a stream of such requests can
/// draw. For documents outside the trust scope the cost is documents delivered.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// Cost per second.
    pub(super) rate: f64,
    /// Cost at once.
    pub(super) burst: f64,
}

/// Charges `cost` to the peer's bucket and its address's (the address's `share` times as
/// large); false when either has too little left, and then neither is charged.
pub(super) fn charge(
    peer: &mut Bucket,
    addresses: &mut AddressBuckets,
    ip: Option<IpAddr>,
    budget: Budget,
    cost: usize,
    now: Instant,
) -> bool {
    let cost = cost as f64;
    let mut probe = *peer;
    if !probe.take_n(cost, budget.rate, budget.burst, now) {
        return false;
    }
    if let Some(ip) = ip
        && !addresses.take_n(ip, cost, now)
    {
        return false;
    }
    *peer = probe;
    true
}

/// Judges one request: the peer's bucket first (its own flood is its fault), then its
/// address's.
pub(super) fn judge(
    peer: &mut Bucket,
    addresses: &mut AddressBuckets,
    ip: Option<IpAddr>,
    (rate, burst): (f64, f64),
    now: Instant,
) -> Verdict {
    if !peer.take(rate, burst, now) {
        return Verdict::PeerOver;
    }
    match ip {
        Some(ip) if !addresses.take(ip, now) => Verdict::AddressOver,
        _ => Verdict::Admit,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// A thousand fresh peer ids from one address get no more than the address's share.
    #[test]
    fn new_peer_ids_from_one_address_share_its_limit() {
        let now = Instant::now();
        let (rate, burst) = (10.0, 20.0);
        let mut addresses = AddressBuckets::new(rate * 4.0, burst * 4.0);
        let mut admitted = 0;
        for _ in 0..1000 {
            let mut fresh = Bucket::full(burst, now);
            for _ in 0..burst as usize {
                if judge(&mut fresh, &mut addresses, Some(LOCAL), (rate, burst), now)
                    == Verdict::Admit
                {
                    admitted += 1;
                }
            }
        }
        assert_eq!(admitted, 80, "the address's burst, not 1000 peers' bursts");
        // Another address is not affected.
        let other: IpAddr = "10.0.0.7".parse().unwrap();
        let mut fresh = Bucket::full(burst, now);
        assert_eq!(
            judge(&mut fresh, &mut addresses, Some(other), (rate, burst), now),
            Verdict::Admit
        );
        // And the address refills at its rate.
        let later = now + Duration::from_secs(1);
        let mut fresh = Bucket::full(burst, later);
        assert_eq!(
            judge(
                &mut fresh,
                &mut addresses,
                Some(LOCAL),
                (rate, burst),
                later
            ),
            Verdict::Admit
        );
    }

    #[test]
    fn a_peer_over_its_own_limit_is_told_apart_from_a_busy_address() {
        let now = Instant::now();
        let mut addresses = AddressBuckets::new(1000.0, 1000.0);
        let mut peer = Bucket::full(2.0, now);
        let limits = (1.0, 2.0);
        assert_eq!(
            judge(&mut peer, &mut addresses, Some(LOCAL), limits, now),
            Verdict::Admit
        );
        assert_eq!(
            judge(&mut peer, &mut addresses, Some(LOCAL), limits, now),
            Verdict::Admit
        );
        assert_eq!(
            judge(&mut peer, &mut addresses, Some(LOCAL), limits, now),
            Verdict::PeerOver
        );
        let mut busy = AddressBuckets::new(0.0, 0.0);
        let mut peer = Bucket::full(2.0, now);
        assert_eq!(
            judge(&mut peer, &mut busy, Some(LOCAL), limits, now),
            Verdict::AddressOver
        );
    }

    #[test]
    fn reconciliation_replies_are_bounded_in_bytes_per_peer_and_address() {
        let now = Instant::now();
        let budget = Budget {
            rate: 1000.0,
            burst: 10_000.0,
        };
        let mut addresses = AddressBuckets::new(2000.0, 15_000.0);
        let mut p1 = Bucket::full(budget.burst, now);
        assert!(charge(
            &mut p1,
            &mut addresses,
            Some(LOCAL),
            budget,
            8_000,
            now
        ));
        assert!(!charge(
            &mut p1,
            &mut addresses,
            Some(LOCAL),
            budget,
            8_000,
            now
        ));
        // A fresh peer id from the same address meets the address's limit.
        let mut p2 = Bucket::full(budget.burst, now);
        assert!(!charge(
            &mut p2,
            &mut addresses,
            Some(LOCAL),
            budget,
            8_000,
            now
        ));
        assert!(charge(
            &mut p2,
            &mut addresses,
            Some(LOCAL),
            budget,
            6_000,
            now
        ));
        // Refilled by the rate.
        let later = now + Duration::from_secs(8);
        assert!(charge(
            &mut p1,
            &mut addresses,
            Some(LOCAL),
            budget,
            8_000,
            later
        ));
    }

    #[test]
    fn the_address_table_is_bounded_and_keeps_busy_addresses() {
        let now = Instant::now();
        let mut addresses = AddressBuckets::new(1.0, 2.0);
        for i in 0..MAX_ADDRESSES as u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i + 1));
            assert!(addresses.take(ip, now));
        }
        assert_eq!(addresses.len(), MAX_ADDRESSES);
        // All are busy (a token taken, none refilled yet): a new address passes untracked,
        // so whoever fills the table cannot lock new peers out.
        assert!(addresses.take(LOCAL, now));
        assert_eq!(addresses.len(), MAX_ADDRESSES);
        // Once they are idle again, the new one gets a bucket of its own.
        let later = now + Duration::from_secs(5);
        assert!(addresses.take(LOCAL, later));
        assert!(addresses.len() <= MAX_ADDRESSES);
        assert!(addresses.buckets.contains_key(&LOCAL));
    }

    #[test]
    fn a_recent_set_forgets_its_oldest_past_the_cap() {
        let mut r = Recent::new(3);
        assert!(r.insert(1) && r.insert(2) && r.insert(3));
        assert!(!r.insert(2), "held");
        assert!(r.insert(4), "past the cap: 1 is forgotten");
        assert!(r.insert(1), "so it is new again");
        assert!(!r.insert(4) && !r.insert(3));
    }

    #[test]
    fn an_ipv6_network_is_one_address() {
        let a: std::net::Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: std::net::Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: std::net::Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network_of(a), network_of(b));
        assert_ne!(network_of(a), network_of(c));
    }
}
