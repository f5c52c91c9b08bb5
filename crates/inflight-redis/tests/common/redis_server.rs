//! A real `redis-server` on 127.0.0.1 with a free port and its own temp dir, which a test can
//! stop, restart (with or without its data, with or without `appendonly yes`), kill -9 and
//! read INFO from. Shared by the library's tests and the CLI's (`#[path]`).
//!
//! Without a `redis-server` binary the tests print why and pass, unless
//! `INFLIGHT_REQUIRE_REDIS=1`, which turns the absence into a failure (CI sets it).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) redis-server owned by one test.
pub struct Server {
    pub port: u16,
    binary: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
    pub appendonly: bool,
    password: Option<String>,
    /// The ACL user and password of the test's own connection (with the default user off).
    admin: Option<(String, String)>,
    /// More command-line options (TLS, ACL users, cluster, replication).
    args: Vec<String>,
}

/// How to start a server.
#[derive(Default, Clone)]
pub struct Config {
    pub appendonly: bool,
    pub password: Option<String>,
    /// The ACL user and password of the test's own connection, when the default user is off.
    pub admin: Option<(String, String)>,
    /// More command-line options, each a config line's words (`--tls-port`, `--user`, ...).
    pub args: Vec<String>,
}

/// Finds `redis-server`, or says why not (and fails when the server is required).
fn binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("redis-server"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let required = std::env::var("INFLIGHT_REQUIRE_REDIS").as_deref() == Ok("1");
        assert!(
            !required,
            "redis-server not found on PATH and INFLIGHT_REQUIRE_REDIS=1 \
             (apt-get install -y redis-server)"
        );
        // Straight to stderr, past the test harness's capture, once per test binary.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"SKIPPED: redis-server not found on PATH (apt-get install -y redis-server); \
                  the Redis tests pass without running; INFLIGHT_REQUIRE_REDIS=1 makes this a failure\n",
            );
        });
    }
    found
}

/// A fresh server without persistence, or `None` (the test then returns: skipped).
pub fn server() -> Option<Server> {
    server_with(Config::default())
}

/// A fresh server with `config`.
pub fn server_with(config: Config) -> Option<Server> {
    let binary = binary()?;
    let mut server = Server {
        port: 0,
        binary,
        dir: tempfile::tempdir().expect("temp dir"),
        child: None,
        appendonly: config.appendonly,
        password: config.password,
        admin: config.admin,
        args: config.args,
    };
    // A free port can be taken between our probe and redis binding it: try a few.
    for _ in 0..5 {
        server.port = free_port();
        if server.try_start() {
            return Some(server);
        }
    }
    panic!("redis-server did not start: {}", server.log());
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    /// `redis://127.0.0.1:PORT` (with the password, if any).
    pub fn url(&self) -> String {
        match (&self.admin, &self.password) {
            (Some((user, pw)), _) => format!("redis://{user}:{pw}@127.0.0.1:{}", self.port),
            (None, Some(pw)) => format!("redis://:{pw}@127.0.0.1:{}", self.port),
            (None, None) => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Its temp dir (its log, and files a test puts next to it).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts it again on the same port and dir (keeping whatever files are there).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let deadline = Instant::now() + Duration::from_secs(10);
        // The old process may hold the port a moment after it died.
        while !self.try_start() {
            assert!(Instant::now() < deadline, "restart failed: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_start(&mut self) -> bool {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--logfile", "redis.log"])
            .args(["--appendonly", if self.appendonly { "yes" } else { "no" }])
            // every write on disk before the reply: a kill -9 loses nothing acknowledged
            .args(["--appendfsync", "always"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = &self.password {
            cmd.args(["--requirepass", pw]);
        }
        cmd.args(&self.args);
        let mut child = cmd.spawn().expect("spawn redis-server");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false; // exited: port taken, most likely
            }
            if self.ping() {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        redis::cmd("PING").query::<String>(&mut conn).is_ok()
    }

    /// Stops it cleanly (SIGTERM: an AOF is flushed; no RDB is saved).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // kill(1): no unsafe here, nor a signal crate in both test harnesses.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Kills it with SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts it; without `keep_data` its files are deleted in between, so it comes
    /// back empty (what a restart without persistence does).
    pub fn restart(&mut self, keep_data: bool) {
        self.stop();
        if !keep_data {
            self.wipe();
        }
        self.start();
    }

    /// Deletes its data files (while stopped).
    pub fn wipe(&mut self) {
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n != "redis.log") {
                if path.is_dir() {
                    let _ = std::fs::remove_dir_all(&path);
                } else {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }

    /// A plain synchronous connection, for the tests' own looks at the data.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .expect("connect to the test server")
    }

    /// One INFO section as a map.
    pub fn info(&self, section: &str) -> HashMap<String, String> {
        let text: String = redis::cmd("INFO")
            .arg(section)
            .query(&mut self.conn())
            .unwrap();
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    /// Runs one command on the test's own connection.
    pub fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.conn()).expect("query")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}
