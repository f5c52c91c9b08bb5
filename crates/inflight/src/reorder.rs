//! The reorder buffer: outputs that finished before an earlier one, held until it is handed back.

use std::collections::VecDeque;

/// Outputs keyed by input position, handed back strictly in position order.
///
/// A ring indexed by `position - next`: its length is bounded by how far the newest position in
/// flight runs ahead of the oldest, which the ordered stream bounds by `limit + capacity`.
#[derive(Debug)]
pub(crate) struct ReorderBuffer<T> {
    ring: VecDeque<Option<T>>,
    /// The position of the next output to hand back.
    next: u64,
    /// How many outputs sit in the ring.
    held: usize,
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
    pub(crate) fn complete(&mut self, position: u64, output: T) -> Option<T> {
        debug_assert!(position >= self.next, "each position completes once");
        if position == self.next {
            self.ring.pop_front();
            self.next += 1;
            return Some(output);
        }
        let offset = usize::try_from(position - self.next).expect("reorder window fits memory");
        if self.ring.len() <= offset {
            self.ring.resize_with(offset + 1, || None);
        }
        self.ring[offset] = Some(output);
        self.held += 1;
        None
    }

    /// Hands back the next output if it has finished.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let output = self.ring.front_mut()?.take()?;
        self.ring.pop_front();
        self.next += 1;
        self.held -= 1;
        Some(output)
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
}
