//! Pool: backpressure, reported panics and errors, bounded memory, all cores.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inflight::{Pool, TaskError};

#[tokio::test(start_paused = true)]
async fn a_panic_comes_back_as_a_value_and_the_pool_goes_on() {
    common::deadline(async move {
        let pool = Pool::new(2);
        pool.spawn(async { Ok::<u32, String>(1) }).await.unwrap();
        pool.spawn(async { panic!("bad input 7") }).await.unwrap();
        pool.spawn(async { Err("refused".to_owned()) })
            .await
            .unwrap();
        pool.spawn(async { Ok(4) }).await.unwrap();
        let mut outcomes = pool.join_all().await;
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            vec![
                Err(TaskError::Panicked("bad input 7".to_owned())),
                Ok(Err("refused".to_owned())),
                Ok(Ok(1)),
                Ok(Ok(4)),
            ]
        );
        assert!(pool.is_empty());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn spawn_waits_for_a_free_slot() {
    common::deadline(async move {
        let pool = Pool::new(2);
        let start = tokio::time::Instant::now();
        for _ in 0..6 {
            pool.spawn(async { tokio::time::sleep(Duration::from_secs(1)).await })
                .await
                .unwrap();
            assert!(pool.running() <= 2);
        }
        // The sixth spawn could only start once two rounds had finished.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        pool.join_all().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn taking_outputs_as_they_come_keeps_the_pool_small() {
    common::deadline(async move {
        let pool = Pool::new(10);
        let mut taken = 0;
        for i in 0..10_000u64 {
            pool.spawn(async move {
                tokio::time::sleep(Duration::from_millis(1 + i % 5)).await;
                i
            })
            .await
            .unwrap();
            while let Some(output) = pool.try_join_next() {
                output.unwrap();
                taken += 1;
            }
            assert!(pool.len() <= 20, "{} tasks held", pool.len());
        }
        taken += pool.join_all().await.len();
        assert_eq!(taken, 10_000);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_work_runs_on_every_worker_thread() {
    common::deadline(async move {
        let pool = Pool::new(2);
        let threads = Arc::new(Mutex::new(HashSet::new()));
        for _ in 0..2 {
            let threads = threads.clone();
            pool.spawn(async move {
                threads.lock().unwrap().insert(std::thread::current().id());
                // Hold this worker busy so the other task must run elsewhere.
                std::thread::sleep(Duration::from_millis(200));
            })
            .await
            .unwrap();
        }
        pool.join_all().await;
        assert_eq!(threads.lock().unwrap().len(), 2);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn the_limit_can_change_while_the_pool_runs() {
    common::deadline(async move {
        let pool = Pool::new(1);
        let start = tokio::time::Instant::now();
        pool.limiter().set_limit(4);
        for _ in 0..8 {
            pool.spawn(async { tokio::time::sleep(Duration::from_secs(1)).await })
                .await
                .unwrap();
        }
        pool.join_all().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    })
    .await
}
