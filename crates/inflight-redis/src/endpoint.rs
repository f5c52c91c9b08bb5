//! [`Endpoint`]: what a Redis URL names. One server (`redis://`, `rediss://`,
//! `redis+unix://`, read by redis-rs itself), a master found through Sentinel
//! (`redis+sentinel://` and `rediss+sentinel://`), or a Cluster reached through seed nodes
//! (`redis+cluster://` and `rediss+cluster://`). Parsed once, before anything connects, so a
//! bad URL is a one-line error at once.

/// How the servers behind a URL are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One server; the URL is handed to redis-rs as it is.
    Single,
    /// The master that these sentinels name `master`.
    Sentinel {
        /// The name the sentinels monitor it by.
        master: String,
    },
    /// A Redis Cluster; the nodes are seeds only.
    Cluster,
}

/// A parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) mode: Mode,
    /// TLS to every data node (and to the sentinels).
    pub(crate) tls: bool,
    /// Sentinels or cluster seeds (empty for [`Mode::Single`], whose URL redis-rs reads).
    pub(crate) nodes: Vec<(String, u16)>,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: i64,
}

/// Sentinel's own port, when a sentinel's is not given.
const SENTINEL_PORT: u16 = 26379;
/// Redis's port, when a node's is not given.
const REDIS_PORT: u16 = 6379;

impl Endpoint {
    /// Reads `url`; the error is the reason only (the caller adds the masked URL).
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(
                "no scheme (redis://, rediss://, redis+sentinel://, redis+cluster://)".into(),
            );
        };
        let (mode, tls) = match scheme.to_ascii_lowercase().as_str() {
            "redis" | "redis+unix" | "unix" => (Mode::Single, false),
            "rediss" => (Mode::Single, true),
            "redis+sentinel" => (
                Mode::Sentinel {
                    master: String::new(),
                },
                false,
            ),
            "rediss+sentinel" => (
                Mode::Sentinel {
                    master: String::new(),
                },
                true,
            ),
            "redis+cluster" => (Mode::Cluster, false),
            "rediss+cluster" => (Mode::Cluster, true),
            other => {
                return Err(format!(
                    "unknown scheme '{other}' (redis://, rediss://, redis+unix://, \
                     redis+sentinel://, rediss+sentinel://, redis+cluster://, rediss+cluster://)"
                ))
            }
        };
        if mode == Mode::Single {
            return Ok(Endpoint {
                mode,
                tls,
                nodes: Vec::new(),
                user: None,
                password: None,
                db: 0,
            });
        }
        if rest.contains('?') || rest.contains('#') {
            return Err("no query or fragment is read in this scheme".into());
        }
        // The user part ends at the last '@': a password may hold one (percent-encoded or not).
        let (userinfo, rest) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = Some(decode(user)?).filter(|u| !u.is_empty());
                let password = password.map(decode).transpose()?;
                (user, password)
            }
        };
        let (hosts, path) = match rest.split_once('/') {
            Some((h, p)) => (h, p),
            None => (rest, ""),
        };
        let default_port = match mode {
            Mode::Sentinel { .. } => SENTINEL_PORT,
            _ => REDIS_PORT,
        };
        let nodes = hosts
            .split(',')
            .map(|h| host_port(h, default_port))
            .collect::<Result<Vec<_>, _>>()?;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (mode, db) = match mode {
            Mode::Sentinel { .. } => match parts.as_slice() {
                [master] => (
                    Mode::Sentinel {
                        master: decode(master)?,
                    },
                    0,
                ),
                [master, db] => (
                    Mode::Sentinel {
                        master: decode(master)?,
                    },
                    parse_db(db)?,
                ),
                _ => return Err("the path must be /MASTER_NAME (or /MASTER_NAME/DB)".into()),
            },
            _ => match parts.as_slice() {
                [] => (mode, 0),
                ["0"] => (mode, 0),
                _ => return Err("a Cluster has database 0 only: no path".into()),
            },
        };
        Ok(Endpoint {
            mode,
            tls,
            nodes,
            user,
            password,
            db,
        })
    }
}

/// `HOST[:PORT]` or `[V6]:PORT`.
fn host_port(s: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(format!("'{s}' has no closing ']'"));
        };
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("'{s}' is not HOST:PORT")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("a host is missing".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("'{p}' is not a port"))?,
    };
    Ok((host.to_string(), port))
}

fn parse_db(s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .ok()
        .filter(|&d| d >= 0)
        .ok_or_else(|| format!("'{s}' is not a database number"))
}

/// Percent-decoding of a URL part, as UTF-8 (what AUTH is given).
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a '%' is not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a percent-encoded part is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_is_left_to_redis_rs() {
        let e = Endpoint::parse("rediss://alice:pw@h:6380/2").unwrap();
        assert_eq!((e.mode, e.tls), (Mode::Single, true));
        assert_eq!(
            Endpoint::parse("redis+unix:///tmp/s").unwrap().mode,
            Mode::Single
        );
    }

    #[test]
    fn sentinel() {
        let e = Endpoint::parse("rediss+sentinel://alice:p%40w@a:1,b,[::1]:3/mymaster/4").unwrap();
        assert_eq!(
            e,
            Endpoint {
                mode: Mode::Sentinel {
                    master: "mymaster".into()
                },
                tls: true,
                nodes: vec![("a".into(), 1), ("b".into(), 26379), ("::1".into(), 3)],
                user: Some("alice".into()),
                password: Some("p@w".into()),
                db: 4,
            }
        );
        let e = Endpoint::parse("redis+sentinel://:pw@h:5/m").unwrap();
        assert_eq!((e.user, e.password), (None, Some("pw".into())));
        assert!(Endpoint::parse("redis+sentinel://h:5").is_err());
        assert!(Endpoint::parse("redis+sentinel://h:0/m").is_err());
    }

    #[test]
    fn cluster() {
        let e = Endpoint::parse("redis+cluster://u:p@a:7000,b:7001").unwrap();
        assert_eq!(e.mode, Mode::Cluster);
        assert_eq!(e.nodes, vec![("a".into(), 7000), ("b".into(), 7001)]);
        assert_eq!(e.user.as_deref(), Some("u"));
        assert!(Endpoint::parse("redis+cluster://a:7000/3").is_err());
        assert!(Endpoint::parse("redis+cluster://a:7000,").is_err());
        assert!(Endpoint::parse("redis+cluster://a:x").is_err());
        assert!(Endpoint::parse("reddis://a").is_err());
        assert!(Endpoint::parse("redis+cluster://a:1?x=1").is_err());
    }
}
