//! `-j auto` for real, over loopback: against a server with a hidden capacity, `fetch -j auto`
//! settles near that capacity and finishes sooner than a limit four times too low (which
//! leaves the server idle) or four times too high (which makes it thrash and refuse).

mod common;

use std::time::Duration;

use common::server::Server;
use common::{run, Run};

/// The server's hidden capacity, each request's time at or under it, and how many URLs.
const CAPACITY: usize = 8;
const MS: u64 = 40;
const URLS: usize = 240;

fn fetch(server: &Server, jobs: &str) -> Run {
    let urls: String = (0..URLS)
        .map(|i| {
            format!(
                "{}\n",
                server.url(&format!("/capacity/{CAPACITY}/{MS}/{i}"))
            )
        })
        .collect();
    let r = run(
        &["fetch", "-j", jobs, "--retries", "8", "--timeout", "30s"],
        Some(&urls),
    );
    assert_eq!(r.code(), 0, "-j {jobs}: {r:?}");
    r
}

/// The limit the summary says `-j auto` settled at.
fn settled(r: &Run) -> usize {
    let (_, after) = r
        .stderr
        .split_once("-j auto settled at ")
        .unwrap_or_else(|| panic!("no settled limit in {}", r.stderr));
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

#[test]
fn auto_settles_near_the_hidden_capacity_and_beats_a_limit_far_off_either_way() {
    let server = Server::start();
    let auto = fetch(&server, "auto:64");
    let too_low = fetch(&server, &(CAPACITY / 4).to_string());
    let too_high = fetch(&server, &(CAPACITY * 4).to_string());
    let limit = settled(&auto);
    eprintln!(
        "auto: {:?} (settled at {limit}); -j {}: {:?}; -j {}: {:?}",
        auto.took,
        CAPACITY / 4,
        too_low.took,
        CAPACITY * 4,
        too_high.took
    );
    assert!(
        (CAPACITY / 2..=CAPACITY * 2).contains(&limit),
        "settled at {limit}, the capacity is {CAPACITY}"
    );
    // At its capacity the server does URLS / CAPACITY rounds of MS: 1.2 s. A quarter of it
    // takes four times as long; four times it thrashes (each request up to 64x slower) and
    // refuses half. The margins are wide: the machine running this is shared.
    let ideal = Duration::from_millis(MS * (URLS / CAPACITY) as u64);
    assert!(
        auto.took < too_low.took && auto.took < too_high.took,
        "auto {:?}, -j {} {:?}, -j {} {:?} (ideal {ideal:?})",
        auto.took,
        CAPACITY / 4,
        too_low.took,
        CAPACITY * 4,
        too_high.took
    );
    assert!(auto.took < ideal * 3, "auto took {:?}", auto.took);
}

#[test]
fn the_progress_line_shows_the_limit_and_a_bad_auto_form_is_a_usage_error() {
    let server = Server::start();
    let url = server.url("/capacity/4/5");
    let r = run(
        &["fetch", "-j", "auto", "--bar"],
        Some(&format!("{url}\n{url}\n")),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(
        r.stderr.contains("j="),
        "no limit on the progress line: {}",
        r.stderr
    );
    assert!(r.stderr.contains("-j auto settled at"), "{}", r.stderr);
    for bad in ["auto:0", "auto:x", "automatic", "0"] {
        let r = run(&["fetch", "-j", bad], Some(""));
        common::assert_usage_error(&r);
        assert!(r.stderr.contains("--jobs"), "{bad}: {}", r.stderr);
    }
    // exec takes it too.
    let r = run(
        &["exec", "-j", "auto:4", "--", "true", ":::", "a", "b", "c"],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stderr.contains("-j auto settled at"), "{}", r.stderr);
}
