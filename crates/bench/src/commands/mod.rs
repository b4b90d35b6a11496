//! The commands of `bench`, each a function from its parsed arguments to an [`ExitStatus`].

pub mod compare;
pub mod completions;
pub mod merge;
pub mod plot;
pub mod run;
pub mod scenarios;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

/// Writes `text` to stdout, the one way every command prints its result. A reader that stopped
/// early (`bench ... | head`) is not an error: the rest is dropped and the command's exit status
/// stands (what a run measured is already in its report). Any other write error is returned.
pub(crate) fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// [`print_stdout`] for output that is a courtesy (a summary, a path): an error writing it is
/// a warning on stderr, never a panic.
pub(crate) fn show(text: &str) {
    if let Err(e) = print_stdout(text) {
        eprintln!("warning: cannot write to stdout: {e}");
    }
}

/// Runs the command the command line names.
pub fn dispatch(cli: Cli) -> ExitStatus {
    match cli.command {
        Some(Command::Compare(args)) => compare::run(args),
        Some(Command::Plot(args)) => plot::run(args),
        Some(Command::Merge(args)) => merge::run(args),
        Some(Command::Scenarios(args)) => scenarios::run(args),
        Some(Command::Completions(args)) => {
            completions::run(args, <Cli as clap::CommandFactory>::command())
        }
        Some(Command::Browser(args)) => run::browser(args),
        Some(Command::Run(args)) => run::emulated(args),
        None => run::emulated(cli.run),
    }
}
