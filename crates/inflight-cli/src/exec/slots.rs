//! Job slots for `{%}`: GNU parallel's slot number, from 1 to `-j`, held by a running attempt
//! and given to the next one when it ends, lowest free first (so `{%}` can pick one of `-j`
//! GPUs, ports or scratch directories).
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

/// The free slots of a run.
#[derive(Clone, Default)]
pub struct Slots {
    free: Arc<Mutex<(usize, BinaryHeap<Reverse<usize>>)>>,
}

/// A slot held until dropped.
pub struct Slot {
    pub number: usize,
    slots: Slots,
}

impl Slots {
    /// Takes the lowest free slot (a new one if none is free: the library never runs more
    /// than `-j` attempts, so numbers stay within 1..=`-j`).
    pub fn take(&self) -> Slot {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let number = match free.1.pop() {
            Some(Reverse(n)) => n,
            None => {
                free.0 += 1;
                free.0
            }
        };
        Slot {
            number,
            slots: self.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut free = self.slots.free.lock().unwrap_or_else(|e| e.into_inner());
        free.1.push(Reverse(self.number));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_slot_first() {
        let slots = Slots::default();
        let (a, b, c) = (slots.take(), slots.take(), slots.take());
        assert_eq!((a.number, b.number, c.number), (1, 2, 3));
        drop(b);
        drop(a);
        let (d, e, f) = (slots.take(), slots.take(), slots.take());
        assert_eq!((d.number, e.number, f.number), (1, 2, 4));
    }
}
