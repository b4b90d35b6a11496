//! The commands of `bench`, each a function from its parsed arguments to an [`ExitStatus`].

pub mod compare;
pub mod completions;
pub mod merge;
pub mod plot;
pub mod run;
pub mod scenarios;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

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
