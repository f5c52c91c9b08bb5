//! The key layout in Redis, in one place. Every key of one limit or queue shares a hash tag
//! (`{name}`), so that they all live in one slot should the server be a cluster.
//!
//! | key | type | what |
//! | --- | --- | --- |
//! | `inflight:limit:{N}:holders` | zset | token → lease end (ms, Redis clock) |
//! | `inflight:limit:{N}:queue` | zset | waiting token → arrival number (FIFO) |
//! | `inflight:limit:{N}:alive` | zset | waiting token → when it must have asked again |
//! | `inflight:limit:{N}:seq` | string | arrival counter |
//! | `inflight:limit:{N}:limit` | string | the live limit, when set |
//! | `inflight:limit:{N}:epoch` | string | random id; gone means Redis lost its data |
//! | `inflight:limit:{N}:grace` | string, TTL | no grants while it exists (after a data loss) |
//! | `inflight:limit:{N}:wake:<client>` | list | wake-ups for one client's waiters (BLPOP) |
//! | `inflight:perkey:{N}:key:<K>:holders` (`queue`, `alive`, `seq`) | | per key K, as above |
//! | `inflight:perkey:{N}:limit`, `epoch`, `grace`, `wake:<client>` | | shared by all keys |
//! | `inflight:rate:{N}:tat` | string, TTL | GCRA: the next start's due time (µs) |
//! | `inflight:rate:{N}:conf` | hash | the live rate: `interval_us`, `burst` |
//! | `inflight:queue:{Q}:inputs` | stream | untaken and running inputs: `pos`, `input`; group `workers` |
//! | `inflight:queue:{Q}:meta` | hash | `id` (random, made by the first push), `pushed`, `closed`, `done`, `failed`, `dead` |
//! | `inflight:queue:{Q}:done` | bitmap | bit `pos` set once the input has its result (or died) |
//! | `inflight:queue:{Q}:results` | stream | one entry per input: `pos`, `input`, `worker`, `ok`, `record` |
//! | `inflight:queue:{Q}:dead` | stream | dead letters: `pos`, `input`, `deliveries` |
//! | `inflight:queue:{Q}:workers` | hash | worker name → last heartbeat (ms, Redis clock) |
//! | `inflight:queue:{Q}:owners` | hash | worker name → `TOKEN LEASE_MS`: the handle that uses the name, and its lease |
//! | `inflight:queue:{Q}:returned` | list | ids of inputs given back, served before all |
//! | `inflight:queue:{Q}:deleted` | string, TTL | the `id` a delete removed (an hour): tells a delete from a data loss |
//! | `inflight:queue:{Q}:events` | stream (last 16) | `closed`, `finished`, `returned`: wakes idle workers (XREAD BLOCK) |
//! | `inflight:queue:{Q}:tally` | hash | `done:<worker>`, `failed:<worker>` → results it recorded |
//! | `inflight:queue:{Q}:failures` | stream, capped | the latest failed results: `pos`, `input`, `worker`, `record` |
//! | `inflight:queue:{Q}:hosts` | hash | worker name → the host it runs on |
//! | `inflight:limit:{N}:declared` | string | the limit the last process to start acquiring was made with |

/// The consumer that inputs given back are pending under until a worker takes them: not a
/// worker, so they count as waiting, not in flight. `~` is not allowed in the CLI's names.
pub(crate) const GIVEN_BACK: &str = "~given-back";

/// The keys shared by every key of a limit family.
#[derive(Debug, Clone)]
pub(crate) struct FamilyKeys {
    base: String,
    per_key: bool,
}

impl FamilyKeys {
    /// The global concurrency limit `name`.
    pub(crate) fn limit(name: &str) -> FamilyKeys {
        FamilyKeys {
            base: format!("inflight:limit:{{{name}}}:"),
            per_key: false,
        }
    }

    /// The global per-key limit family `name`.
    pub(crate) fn per_key(name: &str) -> FamilyKeys {
        FamilyKeys {
            base: format!("inflight:perkey:{{{name}}}:"),
            per_key: true,
        }
    }

    /// The limit the processes were made with (what applies while none is stored).
    pub(crate) fn declared(&self) -> String {
        format!("{}declared", self.base)
    }

    /// The prefix of the wake lists; the client id follows.
    pub(crate) fn wake_prefix(&self) -> String {
        format!("{}wake:", self.base)
    }

    /// KEYS of the limit scripts for one key (`None` for the global limit).
    pub(crate) fn script_keys(&self, key: Option<&str>) -> Vec<String> {
        let state = match (self.per_key, key) {
            (true, Some(k)) => format!("{}key:{k}:", self.base),
            _ => self.base.clone(),
        };
        vec![
            format!("{state}holders"),
            format!("{state}queue"),
            format!("{state}alive"),
            format!("{state}seq"),
            format!("{}limit", self.base),
            format!("{}epoch", self.base),
            format!("{}grace", self.base),
            self.declared(),
        ]
    }
}

/// The keys of a global rate.
pub(crate) fn rate_keys(name: &str) -> Vec<String> {
    vec![
        format!("inflight:rate:{{{name}}}:tat"),
        format!("inflight:rate:{{{name}}}:conf"),
    ]
}

/// The keys of a queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueKeys {
    pub(crate) inputs: String,
    pub(crate) meta: String,
    pub(crate) done: String,
    pub(crate) results: String,
    pub(crate) dead: String,
    pub(crate) workers: String,
    pub(crate) owners: String,
    pub(crate) returned: String,
    pub(crate) deleted: String,
    pub(crate) events: String,
    pub(crate) tally: String,
    pub(crate) failures: String,
    pub(crate) hosts: String,
}

/// How many failed results a queue's capped `failures` stream keeps (about: Redis trims it by
/// whole nodes of its radix tree, so it may hold up to twice as many).
pub(crate) const FAILURES_KEPT: usize = 100;

/// The consumer group of a queue's workers.
pub(crate) const GROUP: &str = "workers";

impl QueueKeys {
    pub(crate) fn new(name: &str) -> QueueKeys {
        let key = |what: &str| format!("inflight:queue:{{{name}}}:{what}");
        QueueKeys {
            inputs: key("inputs"),
            meta: key("meta"),
            done: key("done"),
            results: key("results"),
            dead: key("dead"),
            workers: key("workers"),
            owners: key("owners"),
            returned: key("returned"),
            deleted: key("deleted"),
            events: key("events"),
            tally: key("tally"),
            failures: key("failures"),
            hosts: key("hosts"),
        }
    }

    /// Every key but `deleted`, which a delete sets.
    pub(crate) fn all(&self) -> Vec<String> {
        vec![
            self.inputs.clone(),
            self.meta.clone(),
            self.done.clone(),
            self.results.clone(),
            self.dead.clone(),
            self.workers.clone(),
            self.owners.clone(),
            self.returned.clone(),
            self.events.clone(),
            self.tally.clone(),
            self.failures.clone(),
            self.hosts.clone(),
        ]
    }
}

/// A random id of 16 hex digits (owner tokens, client and worker ids): unguessable, so that
/// no process can name another's permit by accident.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 8];
    // The OS's generator failing is a broken machine; fall back to time and address noise
    // rather than panic inside a limiter.
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes = (t ^ (&bytes as *const _ as u64)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// This machine's name: the start of a worker's default name, and what a dashboard shows
/// beside a worker.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_string())
}
