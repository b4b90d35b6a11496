//! `bench completions SHELL`: a shell completion script on stdout (clap_complete).

use crate::exit::ExitStatus;

/// Print a shell completion script.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  bench completions bash > ~/.local/share/bash-completion/completions/bench\n  bench completions zsh > ~/.zfunc/_bench"
)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Runs `bench completions` for `command`, the whole command line's definition.
pub fn run(args: CompletionsArgs, mut command: clap::Command) -> ExitStatus {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "bench", &mut script);
    match super::print_stdout(&String::from_utf8_lossy(&script)) {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            eprintln!("error: cannot write the completion script: {e}");
            ExitStatus::Failure
        }
    }
}
