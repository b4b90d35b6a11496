//! `bench merge SHARD.csv... --out RUN.csv`: the reports of a sharded run (`bench --shard I/N`,
//! one per process or machine) merged into the report of the whole run.
//!
//! Thin glue over [`report::merge()`], which documents why the merge is exact (counters add,
//! histograms add, percentiles come from the summed histogram) and what it refuses.

use std::path::PathBuf;

use report::Report;

use crate::exit::ExitStatus;

/// Merge the reports of one sharded run into one report: counters are summed and every latency's
/// percentiles are recomputed from the shards' summed histograms, so p99 is the p99 of all the
/// samples, not an average of p99s.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  bench scenarios/ci-smoke.toml --shard 1/2 --out results/s1 &\n  bench scenarios/ci-smoke.toml --shard 2/2 --out results/s2 --target https://127.0.0.1:8443 --cacert cert.pem\n  bench merge results/s1/*.csv results/s2/*.csv --out results/merged.csv\n\nExit codes: 0 merged; 1 the merged report cannot be written; 2 the reports cannot be read or are not every shard of one run (the message says which)."
)]
pub struct MergeArgs {
    /// Every shard's report (CSV written by `bench --shard I/N`), in any order.
    #[arg(value_name = "SHARD.csv", required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,

    /// Where to write the merged report.
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
}

/// Runs `bench merge`: reads every shard, merges, writes `--out` and says what it merged.
pub fn run(args: MergeArgs) -> ExitStatus {
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        match Report::read(path) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitStatus::Usage;
            }
        }
    }
    let rows = match report::merge(&reports) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("error: cannot merge: {e}");
            return ExitStatus::Usage;
        }
    };
    if args.reports.iter().any(|p| p == &args.out) {
        eprintln!(
            "error: --out {} is one of the shards; write the merge elsewhere",
            args.out.display()
        );
        return ExitStatus::Usage;
    }
    if let Err(e) = report::write_report(&args.out, &rows) {
        eprintln!("error: {e}");
        return ExitStatus::Failure;
    }
    println!(
        "merged {} shards ({} rows) into {}",
        reports.len(),
        rows.len(),
        args.out.display()
    );
    ExitStatus::Success
}
