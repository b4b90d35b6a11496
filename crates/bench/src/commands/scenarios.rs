//! `bench scenarios [NAME]`: the shipped scenarios (built into the binary), listed, or one printed
//! as TOML to start a file of your own from.

use crate::exit::ExitStatus;
use crate::scenario::shipped::{self, SHIPPED};
use crate::scenario::Scenario;

/// List the scenarios built into bench, or print one.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  bench scenarios\n  bench scenarios six-connection-ceiling > mine.toml\n  bench six-connection-ceiling          # run a shipped scenario by name"
)]
pub struct ScenariosArgs {
    /// Print this scenario's TOML instead of the list.
    pub name: Option<String>,
}

/// Runs `bench scenarios`.
pub fn run(args: ScenariosArgs) -> ExitStatus {
    match args.name {
        Some(name) => match shipped::find(&name) {
            Some(s) => {
                print!("{}", s.text);
                ExitStatus::Success
            }
            None => {
                eprintln!(
                    "error: no shipped scenario {name:?}; there are: {}",
                    shipped::names()
                );
                ExitStatus::Usage
            }
        },
        None => {
            let width = SHIPPED.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for s in SHIPPED {
                let (description, points) =
                    match Scenario::parse(std::path::Path::new(s.file), s.text) {
                        Ok(sc) => (sc.description.clone(), sc.points().len()),
                        Err(e) => (format!("(invalid: {e})"), 0),
                    };
                println!("{:width$}  {points:>3} points  {description}", s.name);
            }
            println!("\nRun one by name (`bench NAME`), or print it (`bench scenarios NAME`).");
            ExitStatus::Success
        }
    }
}
