//! The options of `fetch` that real crawls need: headers, proxies, certificates, compression,
//! output layout and names, and the per-input lines of `--print`. Declared here, apart from
//! `cli`, and flattened into `fetch`'s options.
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::fetch::naming::NameTemplate;
use crate::fetch::outdir::Layout;
use crate::helpers::parse;

/// Options of `inflight fetch` for crawls.
#[derive(Args, Debug, Clone)]
pub struct CrawlArgs {
    /// Send this header with every request ('Name: value'; repeatable; the last value given
    /// for a name wins). 'Name:' with nothing after it sends no such header (e.g. no
    /// User-Agent). Values are never shown in messages or
    /// the log; put secrets in --header-file to keep them out of `ps` and shell history.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub header: Vec<String>,

    /// Read headers from FILE, one 'Name: value' a line (blank lines and lines starting with
    /// '#' are skipped); repeatable. --header wins over the file for the same name.
    #[arg(long, value_name = "FILE")]
    pub header_file: Vec<PathBuf>,

    /// The User-Agent header [default: inflight/VERSION].
    #[arg(short = 'A', long, value_name = "STRING")]
    pub user_agent: Option<String>,

    /// Send every request through this proxy (http://host:port, https://...; user:password@
    /// for proxy authentication). Without it, the environment's https_proxy, http_proxy and
    /// all_proxy are used, as by curl; NO_PROXY/no_proxy lists hosts reached directly either
    /// way.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Verify servers' certificates with the CA certificates in FILE (PEM) instead of the
    /// built-in roots, as curl --cacert. A certificate in FILE that is exactly the server's
    /// own (a self-signed one, say) is trusted too, as by curl.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Ask for a compressed body (gzip, deflate, br, zstd) and decode it on the fly; --max-size
    /// and the log's bytes then count decoded bytes. A body that cannot be decoded (another
    /// encoding, or a corrupt one) fails the URL, and nothing is saved.
    #[arg(long)]
    pub compressed: bool,

    /// With -o: `flat` saves DIR/NAME, `host` DIR/HOST/NAME, `tree` DIR/HOST/PATH/NAME (the
    /// URL's path, every segment sanitised), so millions of pages do not share one folder.
    #[arg(long, value_enum, value_name = "LAYOUT", default_value_t = Layout::Flat, requires = "output")]
    pub layout: Layout,

    /// With -o: name files from a template instead of the URL: {#} the input's number, {name}
    /// the name the URL gives, {host} its host (e.g. '{#}.html'). The text around them may hold
    /// only letters, digits and . - _ + = , @ ~, so every name stays inside DIR.
    #[arg(long = "save-as", value_name = "TEMPLATE", value_parser = NameTemplate::parse, requires = "output")]
    pub save_as: Option<NameTemplate>,

    /// Write one line per finished input on stdout as soon as it finishes: `path` the saved
    /// file (with -o; successes only), `url` the URL (successes only), `json` its log record
    /// (every input). For pipelines: ... --print path | inflight exec -- ./parse {}
    #[arg(long, value_enum, value_name = "WHAT")]
    pub print: Option<Print>,

    /// Threads that drive the requests. One thread handles thousands of connections with the
    /// least overhead (as curl and aria2 do); raise it when TLS or --compressed decoding of
    /// large bodies needs more than one core.
    #[arg(long, value_name = "N", value_parser = parse::threads, default_value_t = 1, allow_hyphen_values = true)]
    pub threads: usize,
}

/// What `--print` writes per finished input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Print {
    /// The saved file's path (DIR joined with the log's `path`), for each success.
    Path,
    /// The input URL (passwords masked), for each success.
    Url,
    /// The log record, one JSON object, for every finished input.
    Json,
}
