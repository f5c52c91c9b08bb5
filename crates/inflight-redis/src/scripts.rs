//! The Lua scripts, loaded once per process. Each runs atomically on the server; the client
//! sends EVALSHA and falls back to loading the script when Redis answers NOSCRIPT (after a
//! restart, say), which `redis::Script` does for us.

use std::sync::LazyLock;

use redis::Script;

macro_rules! limit_script {
    ($name:ident, $file:literal) => {
        pub(crate) static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(concat!(
                include_str!("lua/sem_common.lua"),
                "\n",
                include_str!($file)
            ))
        });
    };
}

macro_rules! script {
    ($name:ident, $file:literal) => {
        pub(crate) static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(include_str!($file)));
    };
}

limit_script!(ACQUIRE, "lua/sem_acquire.lua");
limit_script!(RELEASE, "lua/sem_release.lua");
limit_script!(RENEW, "lua/sem_renew.lua");
limit_script!(SET_LIMIT, "lua/sem_set_limit.lua");
limit_script!(STATE, "lua/sem_state.lua");
limit_script!(FAILOVER, "lua/sem_failover.lua");
script!(RATE, "lua/rate.lua");
script!(PUSH, "lua/queue_push.lua");
script!(TAKE, "lua/queue_take.lua");
script!(ACK, "lua/queue_ack.lua");
script!(RENEW_ITEMS, "lua/queue_renew.lua");
script!(GIVE_BACK, "lua/queue_give_back.lua");
script!(STATUS, "lua/queue_status.lua");
script!(GIVE_BACK_ALL, "lua/queue_give_back_all.lua");
script!(RECOVER, "lua/queue_recover.lua");
