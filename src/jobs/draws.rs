//! The recorded draws (`suiji draws`).

use crate::store::{DrawFilter, DrawRow, Store, StoreError};

/// A recorded draw and how many targets it lists.
#[derive(Debug, Clone)]
pub struct Listed {
    pub draw: DrawRow,
    pub targets: usize,
}

/// The draws the filter selects, in the store's order.
pub fn run(store: &Store, filter: &DrawFilter) -> Result<Vec<Listed>, StoreError> {
    store
        .list_draws(filter)?
        .into_iter()
        .map(|draw| {
            Ok(Listed {
                targets: store.draw_targets(draw.id)?.len(),
                draw,
            })
        })
        .collect()
}
