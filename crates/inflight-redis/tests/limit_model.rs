//! A property test of the limit scripts against an in-memory model: any sequence of tries,
//! releases (own, repeated, forged) and live limit changes leaves Redis where the model is.

mod common;

use std::time::Duration;

use inflight_redis::{GlobalLimit, LimitOptions, LimitPermit, Redis};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Try,
    /// Release the i-th permit we hold (modulo), by the permit.
    Release(usize),
    /// Release a token again that was already released, or a forged one.
    ReleaseStale(usize),
    Forged,
    SetLimit(u64),
    ClearLimit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Try),
        3 => (0..8usize).prop_map(Op::Release),
        1 => (0..8usize).prop_map(Op::ReleaseStale),
        1 => Just(Op::Forged),
        1 => (1..6u64).prop_map(Op::SetLimit),
        1 => Just(Op::ClearLimit),
    ]
}

#[test]
fn the_scripts_follow_the_model() {
    let Some(server) = common::server() else {
        return;
    };
    let rt = common::runtime();
    let redis = rt.block_on(Redis::connect(&server.url())).unwrap();
    let case = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    };
    proptest!(config, |(default in 1..5u64, ops in proptest::collection::vec(op(), 1..30))| {
        let name = format!("model{}", case.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let limit = GlobalLimit::with_options(&redis, &name, default, LimitOptions::default().lease(Duration::from_secs(30)));
        rt.block_on(async {
            let mut held: Vec<LimitPermit> = Vec::new();
            let mut released: Vec<String> = Vec::new();
            let mut stored: Option<u64> = None;
            for op in ops {
                let model_limit = stored.unwrap_or(default);
                match op {
                    Op::Try => {
                        let got = limit.try_acquire().await.unwrap();
                        prop_assert_eq!(got.is_some(), (held.len() as u64) < model_limit);
                        held.extend(got);
                    }
                    Op::Release(i) if !held.is_empty() => {
                        let p = held.remove(i % held.len());
                        let token = p.token().to_string();
                        prop_assert!(p.release().await.unwrap());
                        released.push(token);
                    }
                    Op::Release(_) => {}
                    Op::ReleaseStale(i) if !released.is_empty() => {
                        let token = &released[i % released.len()];
                        prop_assert!(!limit.release_token(token).await.unwrap());
                    }
                    Op::ReleaseStale(_) => {}
                    Op::Forged => {
                        prop_assert!(!limit.release_token("feedfacefeedface:7").await.unwrap());
                    }
                    Op::SetLimit(n) => {
                        limit.set_limit(n).await.unwrap();
                        stored = Some(n);
                    }
                    Op::ClearLimit => {
                        limit.clear_limit().await.unwrap();
                        stored = None;
                    }
                }
                let state = limit.state().await.unwrap();
                prop_assert_eq!(state.held, held.len() as u64);
                prop_assert_eq!(state.limit, stored.unwrap_or(default));
                prop_assert_eq!(state.waiting, 0);
            }
            for p in held {
                p.release().await.unwrap();
            }
            Ok(())
        })?;
    });
}
