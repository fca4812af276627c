//! The `kiltx-tracer` binary: everything is in the library (see lib.rs for the
//! map of the code); this parses the command line, runs the command and exits
//! with its status.
fn main() {
    let args = std::env::args_os().skip(1).collect();
    let code = kiltx_tracer::cli::main(args);
    kiltx_tracer::cli::exit(code);
}
