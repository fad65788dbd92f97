//! What one peer is asked for: keys waiting in order, and the fetch requests in flight.
//!
//! A key is never in two requests at once. During a catch-up every reconciliation session
//! names again everything not yet stored, including what is in flight; fetching that a second
//! time would bring the same changes twice and verify them twice. Such a key is remembered
//! instead and asked for once the first answer is stored, with the heads that answer brought,
//! so only what is still missing comes back.

use std::collections::{HashMap, HashSet, VecDeque};

use allmende_protocol::sync::{Key, MAX_WANTS};

/// Fetch requests in flight per peer.
pub(super) const FETCHES_PER_PEER: usize = 4;

/// Keys waiting to be fetched from one peer. A full catalog has some 35,000 documents; what
/// does not fit is learnt again in the next reconciliation session. The actor also bounds
/// the sum over all peers, and drops a peer's queue with its last connection.
pub(super) const MAX_QUEUED_PER_PEER: usize = 100_000;

/// Names one fetch request while it is in flight.
pub(super) type BatchId = u64;

/// The fetch queue of one peer.
#[derive(Debug, Default)]
pub(super) struct FetchQueue {
    queue: VecDeque<Key>,
    queued: HashSet<Key>,
    batches: HashMap<BatchId, Vec<Key>>,
    fetching: HashSet<Key>,
    /// Keys wanted again while in flight (a subset of `fetching`).
    again: HashSet<Key>,
    next_id: BatchId,
}

impl FetchQueue {
    /// Queues `keys` behind those waiting, skipping any already waiting. A key in flight is
    /// queued again once its request is done. Returns false when the queue was full and some
    /// keys were dropped (the next session names them again).
    pub(super) fn want(&mut self, keys: impl IntoIterator<Item = Key>) -> bool {
        for k in keys {
            if self.fetching.contains(&k) {
                self.again.insert(k);
                continue;
            }
            if self.queued.contains(&k) {
                continue;
            }
            if self.queue.len() >= MAX_QUEUED_PER_PEER {
                return false;
            }
            self.queued.insert(k);
            self.queue.push_back(k);
        }
        true
    }

    /// The next request to send: up to [`MAX_WANTS`] keys from the front of the queue, unless
    /// [`FETCHES_PER_PEER`] requests are in flight or nothing waits.
    pub(super) fn next_batch(&mut self) -> Option<(BatchId, Vec<Key>)> {
        if self.batches.len() >= FETCHES_PER_PEER || self.queue.is_empty() {
            return None;
        }
        let n = self.queue.len().min(MAX_WANTS);
        let keys: Vec<Key> = self.queue.drain(..n).collect();
        for k in &keys {
            self.queued.remove(k);
            self.fetching.insert(*k);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.batches.insert(id, keys.clone());
        Some((id, keys))
    }

    /// Request `id` was answered and its objects stored, or it failed: its keys are free, and
    /// those wanted again meanwhile go to the back of the queue. An unknown or already finished
    /// id (finished before) changes nothing.
    pub(super) fn done(&mut self, id: BatchId) {
        let Some(keys) = self.batches.remove(&id) else {
            return;
        };
        let mut again = Vec::new();
        for k in keys {
            self.fetching.remove(&k);
            if self.again.remove(&k) {
                again.push(k);
            }
        }
        self.want(again);
    }

    /// Drops the keys waiting (not those in flight); returns how many.
    pub(super) fn drop_waiting(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        self.queued.clear();
        n
    }

    /// Keys waiting (not yet requested).
    pub(super) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Requests in flight.
    pub(super) fn in_flight(&self) -> usize {
        self.batches.len()
    }

    /// Keys waiting plus requests in flight.
    pub(super) fn pending(&self) -> usize {
        self.queued() + self.in_flight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Key {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_be_bytes());
        k
    }

    fn keys(r: std::ops::Range<u32>) -> Vec<Key> {
        r.map(key).collect()
    }

    #[test]
    fn dropping_the_waiting_keys_keeps_those_in_flight() {
        let mut q = FetchQueue::default();
        q.want(keys(0..(MAX_WANTS as u32 + 10)));
        let (id, first) = q.next_batch().unwrap();
        assert_eq!(q.drop_waiting(), 10);
        assert_eq!((q.queued(), q.in_flight()), (0, 1));
        assert!(q.next_batch().is_none(), "nothing waits");
        // A key dropped can be wanted again; the batch in flight finishes as before.
        q.want(keys(0..(MAX_WANTS as u32 + 1)));
        assert_eq!(q.queued(), 1, "only the dropped one: the rest is in flight");
        q.done(id);
        assert_eq!(first.len(), MAX_WANTS);
        assert_eq!(q.queued(), 1 + MAX_WANTS, "wanted again while in flight");
    }

    #[test]
    fn a_key_wanted_twice_is_fetched_once() {
        let mut q = FetchQueue::default();
        assert!(q.want(keys(0..3)));
        assert!(q.want(keys(1..5)));
        let (_, batch) = q.next_batch().expect("a batch");
        assert_eq!(batch, keys(0..5));
        assert!(q.next_batch().is_none());
    }

    #[test]
    fn a_key_wanted_while_in_flight_waits_for_the_answer() {
        let mut q = FetchQueue::default();
        q.want(keys(0..2));
        let (id, _) = q.next_batch().expect("a batch");
        // A reconciliation session names them again while the request is out.
        q.want(keys(0..3));
        let (second, batch) = q.next_batch().expect("the new key");
        assert_eq!(
            batch,
            vec![key(2)],
            "in-flight keys are not asked for twice at once"
        );
        assert!(q.next_batch().is_none());
        q.done(second);
        assert!(q.next_batch().is_none());
        // Once the first answer is stored, they are asked for again (with the new heads).
        q.done(id);
        let (_, batch) = q.next_batch().expect("the keys wanted again");
        assert_eq!(batch, keys(0..2));
    }

    #[test]
    fn a_key_not_wanted_again_is_not_fetched_again() {
        let mut q = FetchQueue::default();
        q.want(keys(0..2));
        let (id, _) = q.next_batch().expect("a batch");
        q.done(id);
        assert!(q.next_batch().is_none());
        assert_eq!(q.pending(), 0);
    }

    #[test]
    fn requests_in_flight_and_their_size_are_bounded() {
        let mut q = FetchQueue::default();
        let total = (FETCHES_PER_PEER + 2) * MAX_WANTS;
        q.want(keys(0..total as u32));
        let mut ids = Vec::new();
        while let Some((id, batch)) = q.next_batch() {
            assert_eq!(batch.len(), MAX_WANTS);
            ids.push(id);
        }
        assert_eq!(ids.len(), FETCHES_PER_PEER);
        assert_eq!(q.pending(), 2 * MAX_WANTS + FETCHES_PER_PEER);
        q.done(ids[0]);
        assert!(q.next_batch().is_some(), "a finished request frees a slot");
        assert!(q.next_batch().is_none());
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut q = FetchQueue::default();
        assert!(!q.want(keys(0..MAX_QUEUED_PER_PEER as u32 + 10)));
        assert_eq!(q.pending(), MAX_QUEUED_PER_PEER);
        // Keys already waiting are not refused when the queue is full.
        assert!(q.want(keys(0..10)));
    }
}
