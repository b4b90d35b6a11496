//! The channel table: every channel by name, which client address created it, and how channels
//! leave: unused (no message, no subscriber), idle (`channel_idle_timeout`), or displaced when the
//! table or the replay budget is full, so that a flood of channels nobody watches holds no slot
//! for long (crates/sse-server/FINDINGS.md, "Channel exhaustion").
//!
//! Displacement evicts the least recently active channel that has no subscriber, chosen among
//! [`SAMPLE`] channels drawn at random (every channel when there are no more than that): an
//! approximate LRU at a bounded cost per request, as Redis evicts keys. A channel with a
//! subscriber is never displaced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use tokio::time::Instant;

use super::budget::ReplayBudget;
use super::channel::Channel;
use crate::peer::ClientAddr;

/// Channels looked at to choose one to displace.
pub(super) const SAMPLE: usize = 64;

/// The channels, under the hub's map lock.
#[derive(Debug)]
pub(super) struct Table {
    pub(super) map: IndexMap<String, Arc<Mutex<Channel>>>,
    /// Channels each client address created that still exist.
    per_address: HashMap<ClientAddr, usize>,
    /// xorshift64 state for the samples.
    rng: u64,
}

impl Table {
    pub(super) fn new() -> Table {
        Table {
            map: IndexMap::new(),
            per_address: HashMap::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Channels `peer` created that still exist.
    pub(super) fn created_by(&self, peer: ClientAddr) -> usize {
        self.per_address.get(&peer).copied().unwrap_or(0)
    }

    /// Adds a channel `creator` creates.
    pub(super) fn insert(&mut self, name: &str, creator: ClientAddr) -> Arc<Mutex<Channel>> {
        let channel = Arc::new(Mutex::new(Channel::new(creator)));
        self.map.insert(name.to_owned(), Arc::clone(&channel));
        *self.per_address.entry(creator).or_default() += 1;
        channel
    }

    fn forget_creator(per_address: &mut HashMap<ClientAddr, usize>, creator: ClientAddr) {
        if let Some(n) = per_address.get_mut(&creator) {
            *n -= 1;
            if *n == 0 {
                per_address.remove(&creator);
            }
        }
    }

    /// Removes the channel at `index`, giving its ring back to the budget.
    fn remove_index(&mut self, index: usize, budget: &ReplayBudget) {
        if let Some((_, channel)) = self.map.swap_remove_index(index) {
            let mut ch = super::lock(&channel);
            while ch.drop_oldest(budget) {}
            Self::forget_creator(&mut self.per_address, ch.creator);
        }
    }

    /// Removes `name` if it has neither subscribers nor messages.
    pub(super) fn remove_if_unused(&mut self, name: &str, budget: &ReplayBudget) {
        let unused = self.map.get_index_of(name).filter(|&i| {
            let ch = super::lock(&self.map[i]);
            ch.subscribers.is_empty() && ch.ring.is_empty()
        });
        if let Some(index) = unused {
            self.remove_index(index, budget);
        }
    }

    /// Evicts, with their rings, the channels without a subscriber that have been inactive since
    /// before `cutoff`. Returns how many.
    pub(super) fn evict_inactive_since(&mut self, cutoff: Instant, budget: &ReplayBudget) -> usize {
        let before = self.map.len();
        let Table {
            map, per_address, ..
        } = self;
        map.retain(|_, channel| {
            // A channel locked right now is in use: not idle.
            let Ok(mut ch) = channel.try_lock() else {
                return true;
            };
            let idle = ch.subscribers.is_empty() && ch.last_active <= cutoff;
            if idle {
                while ch.drop_oldest(budget) {}
                Self::forget_creator(per_address, ch.creator);
            }
            !idle
        });
        if self.map.capacity() > 4 * self.map.len() + 64 {
            self.map.shrink_to_fit();
        }
        before - self.map.len()
    }

    /// Displaces the least recently active channel without a subscriber among a sample (never
    /// `except`). Returns whether one was.
    pub(super) fn displace_one(&mut self, except: Option<&str>, budget: &ReplayBudget) -> bool {
        let len = self.map.len();
        let picks: Vec<usize> = if len <= SAMPLE {
            (0..len).collect()
        } else {
            (0..SAMPLE).map(|_| self.next_index(len)).collect()
        };
        let victim = picks
            .into_iter()
            .filter_map(|i| {
                let (name, channel) = self.map.get_index(i)?;
                if Some(name.as_str()) == except {
                    return None;
                }
                // A channel locked right now is in use: not a candidate.
                let ch = channel.try_lock().ok()?;
                ch.subscribers.is_empty().then_some((ch.last_active, i))
            })
            .min();
        let Some((_, index)) = victim else {
            return false;
        };
        self.remove_index(index, budget);
        true
    }

    fn next_index(&mut self, len: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x % len as u64) as usize
    }
}
