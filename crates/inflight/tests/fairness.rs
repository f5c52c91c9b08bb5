//! Invariant 8 and the poll cap: a task that keeps waking itself starves nobody, and one call of
//! `poll_next` does a bounded amount of work.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use common::YieldTimes;
use futures::task::noop_waker;
use futures::StreamExt;

enum Task {
    Spinner(YieldTimes<&'static str>),
    Neighbour(YieldTimes<&'static str>),
}

impl Future for Task {
    type Output = &'static str;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        match self.get_mut() {
            Task::Spinner(f) | Task::Neighbour(f) => Pin::new(f).poll(cx),
        }
    }
}

#[test]
fn a_self_waking_task_does_not_delay_a_neighbour() {
    futures::executor::block_on(async {
        let spins = Rc::new(Cell::new(0));
        let spinner = Task::Spinner(YieldTimes {
            times: 100_000,
            value: Some("spinner"),
            polls: Some(spins.clone()),
        });
        let neighbour = Task::Neighbour(common::yield_times(1, "neighbour"));
        let mut stream = inflight::as_completed([spinner, neighbour], 2);
        assert_eq!(stream.next().await, Some("neighbour"));
        // The neighbour needed one poll after its first; the spinner got no more than that.
        assert!(
            spins.get() <= 2,
            "spinner polled {} times first",
            spins.get()
        );
        assert_eq!(stream.next().await, Some("spinner"));
        assert_eq!(spins.get(), 100_001);
    });
}

#[test]
fn a_source_of_ready_futures_does_not_starve_a_woken_task() {
    futures::executor::block_on(async {
        // The first future needs a second poll; every later one is ready at once.
        let tasks = (0u64..).map(|i| common::yield_times(if i == 0 { 1 } else { 0 }, i));
        let mut stream = inflight::as_completed(tasks, 2);
        let mut position = None;
        for n in 0..1_000 {
            if stream.next().await == Some(0) {
                position = Some(n);
                break;
            }
        }
        let position = position.expect("the woken task finished");
        assert!(position <= 2, "the woken task came out {position}th");
    });
}

#[test]
fn one_poll_next_polls_at_most_the_budget() {
    let polls = Rc::new(Cell::new(0));
    let tasks = (0..1_000).map(|i| YieldTimes {
        times: usize::MAX,
        value: Some(i),
        polls: Some(polls.clone()),
    });
    let mut stream = inflight::as_completed(tasks, 1_000);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..20 {
        polls.set(0);
        assert!(Pin::new(&mut stream)
            .poll_next_unpin_helper(&mut cx)
            .is_pending());
        assert!(
            polls.get() <= 128,
            "one call polled {} futures",
            polls.get()
        );
        assert!(polls.get() > 0);
    }
}

/// `poll_next` through `StreamExt` without naming the trait in each call.
trait PollHelper {
    fn poll_next_unpin_helper(self, cx: &mut Context<'_>) -> Poll<Option<i32>>;
}

impl<S: futures::Stream<Item = i32> + Unpin> PollHelper for Pin<&mut S> {
    fn poll_next_unpin_helper(self, cx: &mut Context<'_>) -> Poll<Option<i32>> {
        self.get_mut().poll_next_unpin(cx)
    }
}

/// The streams spend tokio's task budget, so a consumer looping over ready outputs lets the
/// other tasks of its runtime run now and then instead of holding the thread to the end.
#[tokio::test(flavor = "current_thread")]
async fn a_consumer_of_ready_outputs_yields_to_other_tasks() {
    common::deadline(async move {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        for ordered in [false, true] {
            let neighbour_ran = Arc::new(AtomicBool::new(false));
            tokio::spawn({
                let neighbour_ran = neighbour_ran.clone();
                async move { neighbour_ran.store(true, Ordering::SeqCst) }
            });
            let tasks = (0..100_000u32).map(|i| async move { i });
            let mut seen_at = None;
            let mut count = 0u32;
            let mut check = |count: u32| {
                if seen_at.is_none() && neighbour_ran.load(Ordering::SeqCst) {
                    seen_at = Some(count);
                }
            };
            if ordered {
                let mut stream = inflight::ordered(tasks, 10);
                while stream.next().await.is_some() {
                    count += 1;
                    check(count);
                }
            } else {
                let mut stream = inflight::as_completed(tasks, 10);
                while stream.next().await.is_some() {
                    count += 1;
                    check(count);
                }
            }
            let seen_at = seen_at.expect("the neighbour ran before the end");
            // Tokio's budget is 128 units, one spent per 8 outputs.
            assert!(
                seen_at <= 2 * 128 * 8,
                "the neighbour waited for {seen_at} outputs"
            );
        }
    })
    .await
}

/// A future that spends one unit of tokio's budget per poll, as tokio's own resources do, and
/// counts the polls it got after the task's budget was already spent (wasted: a tokio resource
/// would only answer Pending and wake itself again).
struct Spender {
    polls_left: usize,
    polled_without_budget: std::rc::Rc<Cell<usize>>,
}

impl Future for Spender {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !tokio::task::coop::has_budget_remaining() {
            self.polled_without_budget
                .set(self.polled_without_budget.get() + 1);
        }
        let unit = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        unit.made_progress();
        if self.polls_left == 0 {
            return Poll::Ready(());
        }
        self.polls_left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_future_is_polled_once_the_task_has_spent_its_budget() {
    common::deadline(async move {
        let wasted = std::rc::Rc::new(Cell::new(0));
        let tasks = (0..2_000).map(|_| Spender {
            polls_left: 3,
            polled_without_budget: wasted.clone(),
        });
        let finished = inflight::as_completed(tasks, 1_000).count().await;
        assert_eq!(finished, 2_000);
        assert_eq!(wasted.get(), 0, "futures polled with no budget left");
    })
    .await
}
