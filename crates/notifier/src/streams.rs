//! How many notification streams may be open: per user, so one account cannot hold a
//! process's connections, and per process, so a flood of streams cannot exhaust it.
//!
//! A stream holds a [`StreamPermit`] for as long as it is open; dropping it (the client left,
//! the token expired, the service stops) gives the place back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// Why a stream could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefusal {
    /// The user already has this many streams open.
    UserFull(usize),
    /// The process already holds this many streams.
    ProcessFull(usize),
}

#[derive(Debug, Default)]
struct Open {
    by_user: HashMap<Uuid, usize>,
    total: usize,
}

/// The limits and the streams open now.
#[derive(Debug)]
pub struct StreamLimits {
    per_user: usize,
    per_process: usize,
    open: Mutex<Open>,
}

impl StreamLimits {
    pub fn new(per_user: usize, per_process: usize) -> Self {
        Self {
            per_user: per_user.max(1),
            per_process: per_process.max(1),
            open: Mutex::new(Open::default()),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A place for one more stream of `user`, or why there is none.
    pub fn try_open(self: &Arc<Self>, user: Uuid) -> Result<StreamPermit, StreamRefusal> {
        let mut open = self.open();
        if open.total >= self.per_process {
            return Err(StreamRefusal::ProcessFull(self.per_process));
        }
        let count = open.by_user.entry(user).or_insert(0);
        if *count >= self.per_user {
            return Err(StreamRefusal::UserFull(self.per_user));
        }
        *count += 1;
        open.total += 1;
        Ok(StreamPermit {
            limits: self.clone(),
            user,
        })
    }

    /// Streams open now, all users together.
    pub fn open_streams(&self) -> usize {
        self.open().total
    }
}

/// One open stream's place; given back on drop.
#[derive(Debug)]
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    user: Uuid,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_user.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.by_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_limited_per_user_and_in_all_and_given_back() {
        let limits = Arc::new(StreamLimits::new(2, 3));
        let (alice, bob, carol) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let first = limits.try_open(alice).unwrap();
        let _second = limits.try_open(alice).unwrap();
        assert_eq!(
            limits.try_open(alice).unwrap_err(),
            StreamRefusal::UserFull(2)
        );
        let _bob = limits.try_open(bob).unwrap();
        assert_eq!(
            limits.try_open(carol).unwrap_err(),
            StreamRefusal::ProcessFull(3)
        );
        drop(first);
        assert_eq!(limits.open_streams(), 2);
        let _again = limits.try_open(alice).unwrap();
    }
}
