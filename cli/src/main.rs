//! The `phisafe` binary; the command line itself is the `phisafe_cli`
//! library, which the Python console script runs too.

/// glibc's malloc makes a free on one thread of memory allocated on
/// another slow (arena consolidation), which is what handing results from
/// rayon workers to the writer does: a third of one thread's time in
/// measurements. mimalloc does not have that cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    phisafe_cli::run(std::env::args_os()).into()
}
