//! The checks behind the `rules` fuzz target: loading a Falco rules file as
//! `kiltx-tracer collect --rules FILE` and `rules validate` do, and, when it loads, evaluating it
//! over a few events of every kind the tracer emits.
//!
//! Input layout: the whole input is the rules file (UTF-8, else skipped).
//!
//! Invariants: nothing panics (YAML reading, the condition parser, macro and list expansion,
//! compilation, evaluation, outputs, error rendering); loading and evaluating the same file
//! twice gives the same answer.

use kiltx_rules::{load, Engine, Options};

/// Events of the kinds the tracer emits (meta, exec, open, connect, dup2, ptrace, exit).
const EVENTS: &[&str] = &[
    r#"{"ts":"2026-11-30T01:00:00.000000001Z","seq":1,"type":"meta","args":{"hostname":"h","ecs":{"task_arn":"arn:aws:ecs:us-east-1:1:task/c/t","cluster":"c","container_name":"app","image":"repo/app:1","container_id":"0123456789abcdef"}}}"#,
    r#"{"ts":"2026-11-30T01:00:00.000000002Z","seq":2,"type":"syscall","container":"app","pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"sh","exe":"/bin/sh","syscall":"execve","abi":"x86_64","args":{"path":"/bin/sh","argv":["sh","-c","cat /etc/shadow"],"cwd":"/","tty":0,"user":"root","group":"root","loginuid":-1,"cap_effective":["CAP_CHOWN"]},"result_captured":true,"result":0}"#,
    r#"{"ts":"2026-11-30T01:00:00.000000003Z","seq":3,"type":"syscall","container":"app","pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"cat","exe":"/bin/cat","syscall":"openat","abi":"x86_64","args":{"dirfd":"AT_FDCWD","path":"/etc/shadow","abspath":"/etc/shadow","flags":["O_RDONLY"]},"result_captured":true,"result":3}"#,
    r#"{"ts":"2026-11-30T01:00:00.000000004Z","seq":4,"type":"syscall","container":"app","pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"nc","exe":"/bin/nc","syscall":"connect","abi":"x86_64","args":{"fd":3,"addr":{"family":"inet","address":"10.0.0.1","port":4444},"sock":{"family":"inet","type":"SOCK_STREAM","l4proto":"tcp"}},"result_captured":true,"result":0}"#,
    r#"{"ts":"2026-11-30T01:00:00.000000005Z","seq":5,"type":"syscall","container":"app","pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"nc","exe":"/bin/nc","syscall":"dup2","abi":"x86_64","args":{"oldfd":3,"newfd":0,"fdtype":"ipv4","sock":{"family":"inet","type":"SOCK_STREAM","l4proto":"tcp"}},"result_captured":true,"result":0}"#,
    r#"{"ts":"2026-11-30T01:00:00.000000006Z","seq":6,"type":"syscall","container":"app","pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"gdb","exe":"/bin/gdb","syscall":"ptrace","abi":"x86_64","args":{"request":"PTRACE_ATTACH","pid":1},"result_captured":true,"result":-1,"errno":"EPERM"}"#,
    r#"{"ts":"2026-11-30T01:00:00.000000007Z","seq":7,"type":"process","container":"app","pid":7,"tid":7,"ppid":1,"syscall":"exit","args":{"thread":false,"code":0}}"#,
];

fn run(text: &str) -> String {
    match load(&[("fuzz.yaml".to_string(), text.to_string())]) {
        Err(errors) => errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        Ok(rs) => {
            let mut engine = Engine::new(rs, Options::default());
            let mut out = Vec::new();
            let mut alerts = 0;
            for e in EVENTS {
                alerts += engine.process(e.as_bytes(), &mut out);
            }
            // Alert lines carry the time they were made; what is compared is their count and
            // the rules they name.
            let rules: Vec<String> = String::from_utf8_lossy(&out)
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .map(|v| v["rule"].to_string())
                        .unwrap_or_else(|e| panic!("an alert that is not JSON ({e}): {l}"))
                })
                .collect();
            format!("loaded {alerts} alerts {rules:?}")
        }
    }
}

/// What one input gives: `loaded N alerts [rules]`, or the loader's errors.
pub fn summary(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) => run(text),
        Err(_) => "not UTF-8".into(),
    }
}

/// Run one input through the loader and the engine; panics on a violated invariant.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = run(text);
    assert_eq!(
        first,
        run(text),
        "determinism: loading and evaluating twice differed"
    );
}
