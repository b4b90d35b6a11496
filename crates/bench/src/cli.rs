//! The command line: `bench SCENARIO.toml`, `bench browser`, `bench compare`, `bench plot`,
//! `bench merge`. Parsed here, run by [`crate::commands`].

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use vocab::{BrowserProfile, Word};

use crate::commands::compare::CompareArgs;
use crate::commands::completions::CompletionsArgs;
use crate::commands::merge::MergeArgs;
use crate::commands::plot::PlotArgs;
use crate::commands::scenarios::ScenariosArgs;

/// Measure what the browser's six-connections-per-host limit does to Server-Sent Events over
/// HTTP/1.1, and what HTTP/2 multiplexing does instead.
///
/// `bench SCENARIO.toml` runs a scenario against a fresh embedded test server (or `--target`),
/// prints a summary table and writes a CSV report under `--out`.
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  bench scenarios/six-connection-ceiling.toml\n  bench scenarios/chat.toml --target https://127.0.0.1:8443 --cacert cert.pem\n  bench compare results/baseline/ci-smoke-1.csv results/ci-smoke-*.csv --base results/baseline/ci-smoke-2.csv --base results/baseline/ci-smoke-3.csv\n  bench plot results/six-connection-ceiling-*.csv\n  bench browser scenarios/ci-smoke.toml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario file (the default when the first argument is a file).
    Run(RunArgs),
    /// Compare two reports (or two sets of runs) and exit 1 on a regression.
    Compare(CompareArgs),
    /// Draw a report's sweep as an SVG chart.
    Plot(PlotArgs),
    /// Merge the reports of a sharded run (`--shard I/N`) into one, exactly.
    Merge(MergeArgs),
    /// List the scenarios built into bench, or print one.
    Scenarios(ScenariosArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Run a scenario's points in a real headless browser (the emulation's ground truth).
    Browser(BrowserArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML; every key is described in scenarios/README.md).
    #[arg(required = true)]
    pub scenario: Option<PathBuf>,
    /// An external server instead of the embedded one: an origin URL such as
    /// https://127.0.0.1:8443 (used for every arm whose scheme matches), or ARM=URL for one arm
    /// (e.g. h2=https://127.0.0.1:8443). Repeatable. Loopback addresses only.
    #[arg(long, value_name = "[ARM=]URL")]
    pub target: Vec<String>,
    /// With --target over TLS: trust this PEM certificate (the server's, or its CA).
    #[arg(long, value_name = "PATH", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,
    /// With --target over TLS: accept any certificate.
    #[arg(long)]
    pub insecure: bool,
    /// With --target: allow a target outside loopback (127.0.0.0/8, ::1), e.g. a staging server.
    /// Without it such a target is refused before any packet is sent.
    #[arg(long)]
    pub allow_remote: bool,
    /// With --target: path and query of the event stream [default: /events?channel=CHANNEL].
    #[arg(long, value_name = "PATH")]
    pub events_path: Option<String>,
    /// With --target: path and query POSTs go to [default: /messages?channel=CHANNEL].
    #[arg(long, value_name = "PATH")]
    pub messages_path: Option<String>,
    /// With --target and a scenario that asks answers: path and query the questions are POSTed
    /// to [default: the framing's, /v1/chat/completions or /v1/messages].
    #[arg(long, value_name = "PATH")]
    pub answers_path: Option<String>,
    /// With a target: the target server's process id on this machine. Its resident memory
    /// (VmRSS) is read before each point's clients start and at the end of the warm-up:
    /// `server_rss_per_client` is the growth divided by the clients. Start a fresh server per
    /// point (memory a process frees stays resident), as scripts/server-memory.sh does.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Change one scenario key, validated as if written in the file: KEY=VALUE, a dotted KEY for
    /// a table (e.g. --set clients=100 --set posts.rate_per_client=5 --set duration=30s).
    /// Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<crate::scenario::Override>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run one shard of every point: I of N (1-based), the clients whose index modulo N is I-1,
    /// for several processes or machines sharing a load; `bench merge` joins their reports.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<ShardArg>,
    /// Print the summary as JSON on stdout (one object: the run, its points and their metrics)
    /// instead of the table.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Where a run writes its report, and how it shows progress: the same for `run` and `browser`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Directory for the CSV report and its plot.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Do not draw the SVG plot next to the report.
    #[arg(long)]
    pub no_plot: bool,
    /// Never draw a progress bar (one line per point is printed instead).
    #[arg(long)]
    pub no_progress: bool,
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardArg {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for ShardArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn parse_shard(text: &str) -> Result<ShardArg, String> {
    let bad = || format!("{text:?}: expected I/N with 1 <= I <= N, e.g. 2/3");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count): (u32, u32) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if count == 0 || index == 0 || index > count {
        return Err(bad());
    }
    Ok(ShardArg { index, count })
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    Text,
    /// JSON for programs.
    Json,
}

/// A value parser for a word of the shared vocabulary: it accepts the words of `W::ALL`, and
/// clap lists them in the help and in the error for any other value.
fn word<W: Word + Clone + Send + Sync>() -> impl clap::builder::TypedValueParser<Value = W> {
    clap::builder::PossibleValuesParser::new(W::names())
        .map(|name| W::parse_word(&name).expect("a listed word parses"))
}

/// How `bench browser` finds each browser, from the browser crate's table.
fn browser_help() -> String {
    let each = |what: fn(&browser::Install) -> String| {
        BrowserProfile::ALL
            .iter()
            .map(|&b| format!("{b}: {}", what(browser::install(b))))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "The browser is found via --browser-path, then its environment variable ({}), then its \
         names on PATH ({}). Debian packages: {}. h2c points are skipped: browsers never speak \
         cleartext HTTP/2; points of more than {} clients are skipped too.\n\nExamples:\n  \
         bench browser scenarios/ci-smoke.toml\n  \
         bench browser --browser firefox scenarios/ci-smoke.toml",
        each(|i| format!("${}", i.env_var)),
        each(|i| i.path_names.join(", ")),
        each(|i| i.package.to_owned()),
        browser::MAX_CLIENTS,
    )
}

/// Run a scenario's points in a real headless browser (the emulation's ground truth).
#[derive(Debug, Args)]
#[command(after_help = browser_help())]
pub struct BrowserArgs {
    /// The scenario file (TOML; every key is described in scenarios/README.md).
    pub scenario: PathBuf,
    /// Change one scenario key, as for `bench run` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<crate::scenario::Override>,
    /// Which browser runs the points.
    #[arg(long, value_parser = word::<BrowserProfile>(), default_value_t = BrowserProfile::default())]
    pub browser: BrowserProfile,
    /// The browser binary [default: the browser's environment variable, else its names on PATH,
    /// as said below].
    #[arg(long, value_name = "PATH", alias = "chromium")]
    pub browser_path: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}
