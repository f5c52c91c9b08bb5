//! Asking the sentinels where the master is (`SENTINEL get-master-addr-by-name`), one after
//! the other until one answers. Asked when connecting and again after every failure, so that a
//! replica that Sentinel promoted is followed without a restart.

use std::time::Duration;

use redis::{Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

use crate::endpoint::Mode;
use crate::error::one_line;
use crate::link::Link;

/// What the sentinels said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// The master's address.
    Master(String, u16),
    /// A permanent problem (no sentinel knows the name, the address is not a sentinel, ...).
    Refused(String),
    /// No sentinel answered.
    Away(String),
}

/// Asks each sentinel of `link` in turn.
pub(crate) async fn find_master(link: &Link, timeout: Duration) -> Found {
    let Mode::Sentinel { master } = &link.endpoint.mode else {
        return Found::Refused("not a Sentinel URL".into());
    };
    let mut refused = None;
    let mut away = String::from("no sentinel given");
    for node in &link.endpoint.nodes {
        match ask(link, node, master, timeout).await {
            Found::Master(h, p) => return Found::Master(h, p),
            Found::Refused(why) => refused = Some(why),
            Found::Away(why) => away = format!("sentinel {}:{}: {why}", node.0, node.1),
        }
    }
    match refused {
        Some(why) => Found::Refused(why),
        None => Found::Away(away),
    }
}

async fn ask(link: &Link, node: &(String, u16), master: &str, timeout: Duration) -> Found {
    let at = format!("{}:{}", node.0, node.1);
    // Without credentials first: sentinels often have none, or other ones than the data nodes.
    let mut with_auth = false;
    loop {
        let client = match sentinel_client(link, node, with_auth) {
            Ok(c) => c,
            Err(e) => {
                return Found::Refused(format!("sentinel {at}: {}", one_line(&e.to_string())))
            }
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let mut conn = match client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(c) => c,
            Err(e) if is_auth(&e) && !with_auth && has_credentials(link) => {
                with_auth = true;
                continue;
            }
            Err(e) if is_auth(&e) => {
                return Found::Refused(format!(
                    "sentinel {at} refused the credentials: {}",
                    one_line(&e.to_string())
                ))
            }
            Err(e) => return Found::Away(one_line(&e.to_string())),
        };
        let answer: redis::RedisResult<Option<(String, u16)>> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(master)
            .query_async(&mut conn)
            .await;
        return match answer {
            Ok(Some((host, port))) => Found::Master(host, port),
            Ok(None) => Found::Refused(format!(
                "sentinel {at} does not know a master named '{master}'"
            )),
            Err(e) if is_auth(&e) && !with_auth && has_credentials(link) => {
                with_auth = true;
                continue;
            }
            Err(e) if is_auth(&e) => Found::Refused(format!(
                "sentinel {at} refused the credentials: {}",
                one_line(&e.to_string())
            )),
            Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                Found::Away(one_line(&e.to_string()))
            }
            Err(e) => Found::Refused(format!(
                "{at} is not a sentinel ({})",
                one_line(&e.to_string())
            )),
        };
    }
}

fn has_credentials(link: &Link) -> bool {
    link.endpoint.user.is_some() || link.endpoint.password.is_some()
}

fn is_auth(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
}

/// A sentinel's client: TLS as the URL says, database 0 (sentinels have no SELECT).
fn sentinel_client(
    link: &Link,
    (host, port): &(String, u16),
    with_auth: bool,
) -> redis::RedisResult<Client> {
    let tls = link.endpoint.tls;
    let addr = if tls {
        ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.clone(), *port)
    };
    let mut redis = RedisConnectionInfo::default();
    if with_auth {
        if let Some(user) = &link.endpoint.user {
            redis = redis.set_username(user);
        }
        if let Some(pw) = &link.endpoint.password {
            redis = redis.set_password(pw);
        }
    }
    let info = addr.into_connection_info()?.set_redis_settings(redis);
    match (tls, link.certs()) {
        (true, Some(certs)) => Client::build_with_tls(info, certs.clone()),
        _ => Client::open(info),
    }
}
