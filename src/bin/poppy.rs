//! `poppy`: the command-line client of the Poppy API. See `poppy --help`
//! (exit codes included) and [`poppy::cli`].

// mimalloc: the request path allocates many small, short-lived objects; the
// system allocator spent a fifth of a list request in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    poppy::cli::main()
}
