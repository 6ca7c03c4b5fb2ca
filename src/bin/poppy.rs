//! `poppy`: the command-line client of the Poppy API. See `poppy --help`
//! (exit codes included) and [`poppy::cli`].

fn main() -> std::process::ExitCode {
    poppy::cli::main()
}
