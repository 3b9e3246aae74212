//! How many CSV uploads may stream in at once, per merchant and per process (the API's upload
//! routes and the console's share one set of slots).
//!
//! An upload holds no database connection while it arrives, but it does hold a socket, a
//! temporary file and a timer for up to `imports.upload_timeout_secs`. Slots bound what one
//! merchant (or all of them together) can keep open on one process; an upload past a bound is
//! refused before its body is read, with 429 and `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use recete_platform::ids::MerchantId;

/// The bounds and the slots held now.
#[derive(Debug)]
pub struct UploadSlots {
    per_merchant: usize,
    total: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_merchant: HashMap<MerchantId, usize>,
}

/// Which bound refused an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// `imports.max_concurrent_uploads_per_merchant`.
    Merchant { limit: usize },
    /// `imports.max_concurrent_uploads`.
    Process { limit: usize },
}

impl SlotRefusal {
    pub fn detail(self) -> String {
        match self {
            Self::Merchant { limit } => format!(
                "this merchant already has {limit} uploads in progress (imports.max_concurrent_uploads_per_merchant); \
                 retry when one has finished"
            ),
            Self::Process { limit } => format!(
                "{limit} uploads are already in progress on this server (imports.max_concurrent_uploads); retry later"
            ),
        }
    }
}

/// One upload's slot, given back when dropped (whether the upload finished, failed or was cut off).
#[derive(Debug)]
pub struct UploadSlot {
    slots: Arc<UploadSlots>,
    merchant: MerchantId,
}

impl UploadSlots {
    pub fn new(per_merchant: usize, total: usize) -> Self {
        Self { per_merchant, total, held: Mutex::new(Held::default()) }
    }

    /// Takes a slot for `merchant`, or says which bound is reached.
    pub fn try_take(self: &Arc<Self>, merchant: MerchantId) -> Result<UploadSlot, SlotRefusal> {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mine = held.by_merchant.get(&merchant).copied().unwrap_or(0);
        if mine >= self.per_merchant {
            return Err(SlotRefusal::Merchant { limit: self.per_merchant });
        }
        if held.total >= self.total {
            return Err(SlotRefusal::Process { limit: self.total });
        }
        held.total += 1;
        held.by_merchant.insert(merchant, mine + 1);
        Ok(UploadSlot { slots: self.clone(), merchant })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.total = held.total.saturating_sub(1);
        if let Some(count) = held.by_merchant.get_mut(&self.merchant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.by_merchant.remove(&self.merchant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_merchant_and_in_all_and_given_back_on_drop() {
        let slots = Arc::new(UploadSlots::new(2, 3));
        let (a, b) = (MerchantId::generate(), MerchantId::generate());
        let first = slots.try_take(a).expect("first of a");
        let _second = slots.try_take(a).expect("second of a");
        assert_eq!(slots.try_take(a).expect_err("third of a"), SlotRefusal::Merchant { limit: 2 });
        let _third = slots.try_take(b).expect("first of b");
        assert_eq!(slots.try_take(b).expect_err("process full"), SlotRefusal::Process { limit: 3 });
        drop(first);
        slots.try_take(b).expect("a slot given back is free again");
    }
}
