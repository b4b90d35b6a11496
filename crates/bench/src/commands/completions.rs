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
    use std::io::Write as _;
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "bench", &mut script);
    match std::io::stdout().write_all(&script) {
        // A reader that stopped early (`| head`) is not an error of ours.
        Ok(()) => ExitStatus::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(e) => {
            eprintln!("error: cannot write the completion script: {e}");
            ExitStatus::Failure
        }
    }
}
