//! What every handler shares: the counter, whichever store it counts in.

use std::sync::Arc;

use crate::storage::Counter;

/// The router's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub counter: Arc<dyn Counter>,
}

impl AppState {
    pub fn new(counter: Arc<dyn Counter>) -> Self {
        Self { counter }
    }
}
