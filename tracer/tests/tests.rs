//! The tracer's integration tests, in one test binary (one link, one run;
//! as ripgrep's tests/tests.rs). They run the real `kiltx-tracer` binary on
//! real processes, every one started through `common::tracer_cmd` or
//! `common::hermetic` (a fixed environment); see tracer/README.md, "Tests".
//!
//! Run one module with `cargo test -p kiltx-tracer --test tests events::`.

// Shared helpers: building the C programs in tests/progs, running the
// tracer, reading its events.
mod common;

// The same runs on aarch64, in an emulated arm64 kernel (x86_64 hosts).
#[cfg(target_arch = "x86_64")]
mod aarch64;
// io_uring, datagrams, signal names: ways to act without an event.
mod blind_spots;
// kiltx's default rules (rules/default): each rule's trigger and near miss.
mod default_rules;
// Event content, profiles, 32-bit syscalls, sinks, backpressure, collector.
mod events;
// What Falco's rules need from the events (issue 14).
mod fields;
// The exec/open/connect/rename events of a workload equal strace's.
mod ground_truth;
// PID-1 duties and failure behaviour.
mod lifecycle;
// Following the process tree: many processes, threads, vfork, clone3.
mod process_tree;
// Falco rules in the collector: validate, list, replay, live alerts.
mod rules;
