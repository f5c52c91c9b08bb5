//! The reorder buffer: outputs that finished before an earlier one, held until it is handed back.

use std::collections::VecDeque;

/// Outputs keyed by input position, handed back strictly in position order.
///
/// A ring indexed by `position - next`: its length is bounded by how far the newest position in
/// flight runs ahead of the oldest, which the ordered stream bounds by `limit + capacity`.
#[derive(Debug)]
pub(crate) struct ReorderBuffer<T> {
    ring: VecDeque<Entry<T>>,
    /// The position of the next output to hand back.
    next: u64,
    /// How many outputs sit in the ring.
    held: usize,
}

/// One position of the ring.
#[derive(Debug)]
enum Entry<T> {
    /// Still running (or not yet started).
    Waiting,
    /// Finished; waits for the positions before it.
    Done(T),
    /// Will never finish: its future panicked and was dropped. Skipped when its turn comes.
    Lost,
}

impl<T> ReorderBuffer<T> {
    pub(crate) fn new() -> Self {
        ReorderBuffer {
            ring: VecDeque::new(),
            next: 0,
            held: 0,
        }
    }

    /// How many finished outputs are waiting for an earlier one.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Takes the output at `position`: hands it back if it is the next one, else holds it.
    // Inlined like the engine's hot path (see `Engine::poll_output`): out of line it cost 20
    // instructions a task in input order.
    #[inline(always)]
    pub(crate) fn complete(&mut self, position: u64, output: T) -> Option<T> {
        debug_assert!(position >= self.next, "each position completes once");
        if position == self.next {
            // Checked first: the ring is usually empty here, and then no call is made.
            if !self.ring.is_empty() {
                self.ring.pop_front();
            }
            self.next += 1;
            return Some(output);
        }
        *self.entry(position) = Entry::Done(output);
        self.held += 1;
        None
    }

    /// Writes `position` off: its output will never come, so the ones after it need not wait.
    #[cold]
    pub(crate) fn lose(&mut self, position: u64) {
        debug_assert!(position >= self.next, "a lost position never completed");
        *self.entry(position) = Entry::Lost;
    }

    fn entry(&mut self, position: u64) -> &mut Entry<T> {
        let offset = usize::try_from(position - self.next).expect("reorder window fits memory");
        if self.ring.len() <= offset {
            self.ring.resize_with(offset + 1, || Entry::Waiting);
        }
        &mut self.ring[offset]
    }

    /// Hands back the next output if it has finished, passing over lost positions.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<T> {
        loop {
            match self.ring.front() {
                Some(Entry::Done(_)) => {}
                Some(Entry::Lost) => {
                    self.ring.pop_front();
                    self.next += 1;
                    continue;
                }
                Some(Entry::Waiting) | None => return None,
            }
            let Some(Entry::Done(output)) = self.ring.pop_front() else {
                unreachable!("checked above")
            };
            self.next += 1;
            self.held -= 1;
            return Some(output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ReorderBuffer;

    #[test]
    fn hands_back_in_position_order() {
        let mut buffer = ReorderBuffer::new();
        assert_eq!(buffer.complete(2, 'c'), None);
        assert_eq!(buffer.complete(1, 'b'), None);
        assert_eq!(buffer.held(), 2);
        assert_eq!(buffer.pop(), None);
        assert_eq!(buffer.complete(0, 'a'), Some('a'));
        assert_eq!(buffer.pop(), Some('b'));
        assert_eq!(buffer.pop(), Some('c'));
        assert_eq!(buffer.pop(), None);
        assert_eq!(buffer.held(), 0);
        assert_eq!(buffer.complete(3, 'd'), Some('d'));
    }

    #[test]
    fn a_lost_position_is_skipped_wherever_it_falls() {
        let mut buffer = ReorderBuffer::new();
        assert_eq!(buffer.complete(2, 'c'), None);
        buffer.lose(1);
        assert_eq!(buffer.complete(0, 'a'), Some('a'));
        assert_eq!(buffer.pop(), Some('c'));
        buffer.lose(3);
        assert_eq!(buffer.pop(), None);
        assert_eq!(buffer.complete(4, 'e'), Some('e'));
        assert_eq!(buffer.held(), 0);
    }
}
