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

macro_rules! queue_script {
    ($name:ident, $file:literal) => {
        pub(crate) static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(concat!(
                include_str!("lua/queue_common.lua"),
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
limit_script!(ACQUIRE_MANY, "lua/sem_acquire_many.lua");
limit_script!(RELEASE_MANY, "lua/sem_release_many.lua");
limit_script!(RENEW, "lua/sem_renew.lua");
limit_script!(SET_LIMIT, "lua/sem_set_limit.lua");
limit_script!(STATE, "lua/sem_state.lua");
limit_script!(FAILOVER, "lua/sem_failover.lua");
script!(RATE, "lua/rate.lua");
queue_script!(PUSH, "lua/queue_push.lua");
queue_script!(TAKE, "lua/queue_take.lua");
queue_script!(ACK_BATCH, "lua/queue_ack_batch.lua");
queue_script!(RENEW_ITEMS, "lua/queue_renew.lua");
queue_script!(GIVE_BACK, "lua/queue_give_back.lua");
queue_script!(STATUS, "lua/queue_status.lua");
queue_script!(GIVE_BACK_ALL, "lua/queue_give_back_all.lua");
queue_script!(RECOVER, "lua/queue_recover.lua");
queue_script!(CLOSE, "lua/queue_close.lua");
queue_script!(DELETE, "lua/queue_delete.lua");
queue_script!(EXISTS, "lua/queue_exists.lua");
script!(OVERVIEW, "lua/queue_overview.lua");
