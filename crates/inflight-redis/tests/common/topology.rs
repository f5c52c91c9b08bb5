//! The Redis that production runs, for tests: a TLS server with certificates made here
//! (rcgen), ACL users with the default user off, a master with a replica and a sentinel, and
//! a three-node Cluster joined with `redis-cli --cluster create`. All on free loopback ports,
//! each server with its own temp dir; shared by the library's tests and the CLI's (`#[path]`).
//! Without redis-server (or redis-cli for a Cluster) the tests print why and pass, unless
//! INFLIGHT_REQUIRE_REDIS=1.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

use super::redis_server::{free_port, server_with, Config, Server};

/// Polls `f` every 20 ms until it is true or `limit` passes.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A CA and what it signed, as PEM files in a temp dir.
pub struct Certs {
    dir: tempfile::TempDir,
    /// The CA the server's and the client's certificates chain to.
    pub ca: PathBuf,
    /// Another CA, which signed neither.
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Makes a CA, a server certificate for `localhost` (not 127.0.0.1), and a client one.
pub fn certs() -> Certs {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "inflight test CA");
    let ca = params.self_signed(&ca_key).unwrap();
    let other_key = KeyPair::generate().unwrap();
    let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other
        .distinguished_name
        .push(DnType::CommonName, "some other CA");
    let other = other.self_signed(&other_key).unwrap();
    let leaf = |names: Vec<String>, ip: bool| {
        let mut params = CertificateParams::new(names).unwrap();
        if ip {
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    // For `localhost` only: 127.0.0.1 is a name it is not valid for.
    let (server_cert, server_key) = leaf(vec!["localhost".into()], false);
    let (client_cert, client_key) = leaf(vec!["inflight-client".into()], false);
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    Certs {
        ca: write("ca.pem", &ca.pem()),
        other_ca: write("other-ca.pem", &other.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server.key", &server_key),
        client_cert: write("client.pem", &client_cert),
        client_key: write("client.key", &client_key),
        dir,
    }
}

/// A server with a TLS port (and the plain one, for the test's own looks).
pub struct TlsServer {
    pub server: Server,
    pub tls_port: u16,
    pub certs: Certs,
}

/// The ACL user that tests connect as, and its password.
pub const USER: (&str, &str) = ("worker", "w0rk:er@pw");
/// The tests' own user.
pub const ADMIN: (&str, &str) = ("admin", "admin-pw");

/// ACL lines: the default user off, `worker` and `admin` with every right.
fn acl_args() -> Vec<String> {
    // One word per argument: redis-server joins them into the config line itself.
    let mut args: Vec<String> = vec!["--user".into(), "default".into(), "off".into()];
    for (user, pw) in [USER, ADMIN] {
        args.push("--user".into());
        args.extend([user, "on", &format!(">{pw}"), "~*", "&*", "+@all"].map(String::from));
    }
    args
}

/// A server with a TLS port; with `acl`, the default user off and [`USER`] on; with
/// `client_certs`, TLS clients must show a certificate from the CA.
pub fn tls_server(acl: bool, client_certs: bool) -> Option<TlsServer> {
    let certs = certs();
    let tls_port = free_port();
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let mut args = vec![
        "--tls-port".to_string(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        path(&certs.server_cert),
        "--tls-key-file".into(),
        path(&certs.server_key),
        "--tls-ca-cert-file".into(),
        path(&certs.ca),
        "--tls-auth-clients".into(),
        if client_certs { "yes" } else { "no" }.into(),
    ];
    let mut config = Config::default();
    if acl {
        args.extend(acl_args());
        config.admin = Some((ADMIN.0.into(), ADMIN.1.into()));
    }
    config.args = args;
    let server = server_with(config)?;
    Some(TlsServer {
        server,
        tls_port,
        certs,
    })
}

impl TlsServer {
    /// `rediss://[worker:PW@]localhost:TLS_PORT` (the password percent-encoded).
    pub fn url(&self, acl: bool) -> String {
        if acl {
            format!(
                "rediss://{}:{}@localhost:{}",
                USER.0,
                USER.1.replace(':', "%3A").replace('@', "%40"),
                self.tls_port
            )
        } else {
            format!("rediss://localhost:{}", self.tls_port)
        }
    }
}

/// A master, its replica and one sentinel that watches them (quorum 1, a second of silence
/// before a failover).
pub struct Sentinel {
    pub master: Server,
    pub replica: Server,
    pub sentinel: Child,
    pub sentinel_port: u16,
    dir: tempfile::TempDir,
}

/// The name the sentinel knows the master by.
pub const MASTER_NAME: &str = "inflight-test";

pub fn sentinel() -> Option<Sentinel> {
    let config = Config {
        appendonly: false,
        ..Config::default()
    };
    let master = server_with(config.clone())?;
    let replica = server_with(Config {
        // Writable, so that a test can take away from it a write the master made, as if it
        // had not been replicated before the master died.
        args: vec![
            "--replicaof".into(),
            "127.0.0.1".into(),
            master.port.to_string(),
            "--replica-read-only".into(),
            "no".into(),
        ],
        ..config
    })?;
    let dir = tempfile::tempdir().unwrap();
    let sentinel_port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sentinel_port}\nbind 127.0.0.1\ndir {dir}\nlogfile sentinel.log\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 1\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 10000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir = dir.path().display(),
            master = master.port
        ),
    )
    .unwrap();
    let sentinel = Command::new("redis-server")
        .arg(&conf)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server --sentinel");
    let s = Sentinel {
        master,
        replica,
        sentinel,
        sentinel_port,
        dir,
    };
    // Ready when the replica is in sync and the sentinel knows of it.
    let ready = eventually(Duration::from_secs(20), || {
        s.replica
            .info("replication")
            .get("master_link_status")
            .map(String::as_str)
            == Some("up")
            && s.sentinel_replicas() >= 1
    });
    assert!(
        ready.is_some(),
        "sentinel setup did not settle: {}",
        s.log()
    );
    Some(s)
}

impl Sentinel {
    /// `redis+sentinel://127.0.0.1:SPORT/inflight-test`
    pub fn url(&self) -> String {
        format!(
            "redis+sentinel://127.0.0.1:{}/{MASTER_NAME}",
            self.sentinel_port
        )
    }

    /// The master's port as the sentinel says it.
    pub fn master_port(&self) -> Option<u16> {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{}", self.sentinel_port))
            .ok()?
            .get_connection_with_timeout(Duration::from_secs(1))
            .ok()?;
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(MASTER_NAME)
            .query(&mut conn)
            .ok()?;
        addr.map(|(_, p)| p)
    }

    fn sentinel_replicas(&self) -> usize {
        let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{}", self.sentinel_port))
        else {
            return 0;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(300)) else {
            return 0;
        };
        let replicas: redis::RedisResult<Vec<redis::Value>> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg(MASTER_NAME)
            .query(&mut conn);
        replicas.map(|r| r.len()).unwrap_or(0)
    }

    /// Kills the master with SIGKILL and waits until the sentinel names the replica.
    pub fn fail_over(&mut self) -> Duration {
        let start = Instant::now();
        self.master.kill9();
        let replica = self.replica.port;
        let took = eventually(Duration::from_secs(30), || {
            self.master_port() == Some(replica)
        });
        assert!(took.is_some(), "no failover: {}", self.log());
        start.elapsed()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sentinel.log")).unwrap_or_default()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.sentinel.kill();
        let _ = self.sentinel.wait();
    }
}

/// `--cluster-enabled yes` servers joined into one Cluster: three masters, each with
/// `replicas` replicas.
pub struct Cluster {
    pub nodes: Vec<Server>,
}

/// Three masters, no replicas.
pub fn cluster() -> Option<Cluster> {
    cluster_with(0)
}

/// Three masters with `replicas` replicas each.
pub fn cluster_with(replicas: usize) -> Option<Cluster> {
    let cli = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("redis-cli"))
            .find(|p| p.is_file())
    });
    let mut nodes = Vec::new();
    for _ in 0..3 * (1 + replicas) {
        nodes.push(server_with(Config {
            args: vec![
                "--cluster-enabled".into(),
                "yes".into(),
                "--cluster-config-file".into(),
                "nodes.conf".into(),
                "--cluster-node-timeout".into(),
                "2000".into(),
            ],
            ..Config::default()
        })?);
    }
    let Some(cli) = cli else {
        let required = std::env::var("INFLIGHT_REQUIRE_REDIS").as_deref() == Ok("1");
        assert!(
            !required,
            "redis-cli not found on PATH and INFLIGHT_REQUIRE_REDIS=1"
        );
        eprintln!("SKIPPED: redis-cli not found on PATH (apt-get install -y redis-tools)");
        return None;
    };
    let mut create = Command::new(cli);
    create.args(["--cluster", "create"]);
    for n in &nodes {
        create.arg(format!("127.0.0.1:{}", n.port));
    }
    let out = create
        .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
        .output()
        .expect("run redis-cli --cluster create");
    assert!(
        out.status.success(),
        "redis-cli --cluster create failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let ok = eventually(Duration::from_secs(20), || {
        nodes.iter().all(|n| {
            n.info("cluster").get("cluster_enabled").map(String::as_str) == Some("1")
                && {
                    let state: String = redis::cmd("CLUSTER")
                        .arg("INFO")
                        .query(&mut n.conn())
                        .unwrap_or_default();
                    state.contains("cluster_state:ok")
                }
                && {
                    // A replica that never synced is too stale to be promoted.
                    let replication = n.info("replication");
                    replication.get("role").map(String::as_str) != Some("slave")
                        || replication.get("master_link_status").map(String::as_str) == Some("up")
                }
        })
    });
    assert!(ok.is_some(), "the Cluster did not come up");
    Some(Cluster { nodes })
}

impl Cluster {
    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2` (two seeds of the three).
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
            self.nodes[0].port, self.nodes[1].port
        )
    }

    /// The master that holds `key` now (its index in `nodes`).
    pub fn master_of(&self, key: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| {
                n.running() && {
                    let role: Vec<redis::Value> =
                        redis::cmd("ROLE").query(&mut n.conn()).unwrap_or_default();
                    let master =
                        matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master");
                    let exists: redis::RedisResult<i64> =
                        redis::cmd("EXISTS").arg(key).query(&mut n.conn());
                    master && exists == Ok(1)
                }
            })
            .expect("a master holds the key")
    }

    /// Kills master `i` with SIGKILL and waits until the Cluster is whole again (its replica
    /// promoted).
    pub fn fail_over(&mut self, i: usize) -> Duration {
        let start = Instant::now();
        let id: String = redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut self.nodes[i].conn())
            .unwrap();
        self.nodes[i].kill9();
        let whole = eventually(Duration::from_secs(30), || {
            let Some(n) = self.nodes.iter().find(|n| n.running()) else {
                return false;
            };
            let nodes: String = redis::cmd("CLUSTER")
                .arg("NODES")
                .query(&mut n.conn())
                .unwrap_or_default();
            let serving = nodes
                .lines()
                .filter(|l| l.contains("master") && !l.contains("fail"))
                .count();
            let dead_failed = nodes
                .lines()
                .any(|l| l.starts_with(&id) && l.contains("fail") && !l.contains("fail?"));
            serving == 3 && dead_failed
        });
        let n = self.nodes.iter().find(|n| n.running()).unwrap();
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut n.conn())
            .unwrap_or_default();
        let logs: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.running())
            .map(|n| n.log().lines().rev().take(8).collect::<Vec<_>>().join("\n"))
            .collect();
        assert!(
            whole.is_some(),
            "the Cluster did not fail over: {nodes}\n{}",
            logs.join("\n---\n")
        );
        start.elapsed()
    }

    /// How many keys each node holds.
    pub fn keys_per_node(&self) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|n| {
                let size: usize = redis::cmd("DBSIZE").query(&mut n.conn()).unwrap_or(0);
                size
            })
            .collect()
    }
}
