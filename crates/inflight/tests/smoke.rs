use futures::StreamExt;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn seed000_takes_one_second() {
    let start = tokio::time::Instant::now();
    let tasks = (1..=100u32).map(|i| async move {
        tokio::time::sleep(Duration::from_secs(1) / i).await;
        i
    });
    let out: Vec<u32> = inflight::as_completed(tasks, 10).collect().await;
    assert_eq!(out.len(), 100);
    let e = start.elapsed();
    assert!(e >= Duration::from_secs(1) && e < Duration::from_millis(1010), "{e:?}");
}
