//! What Falco's rules need from the events (issue 14), each seen on a real
//! traced program (`progs/fields.c`): explicit O_RDONLY, sequence numbers
//! from 1, failed attempts, raw symlink targets, ptrace requests by name.
use crate::common::*;
use serde_json::json;

fn fields() -> String {
    prog("fields").to_str().unwrap().to_string()
}

#[test]
fn read_only_opens_say_o_rdonly_and_seq_starts_at_1() {
    let d = tempdir("rdonly");
    let r = run(&d, &[], &["/bin/sh", "-c", "cat /etc/shadow > /dev/null"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let o = of(&r.events, "openat")
        .into_iter()
        .find(|e| s(&e["args"]["path"]) == "/etc/shadow")
        .expect("sensitive read-only open");
    assert_eq!(o["args"]["flags"], json!(["O_RDONLY"]));
    assert!(i(&o["result"]) >= 0);
    // evt.num: never 0 (Falco's `never_true` macro is `evt.num=0`)
    let seqs: Vec<i64> = r.events.iter().map(|e| i(&e["seq"])).collect();
    assert_eq!(seqs.iter().min(), Some(&1), "{seqs:?}");
    assert_eq!(seqs[0], 1);
}

#[test]
fn failed_attempts_raw_targets_and_ptrace_requests() {
    let d = tempdir("links");
    let f = fields();
    let r = run(&d, &[], &[&f, "links", d.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // a link that fails is reported all the same (one stop, no result)
    let l = of(&r.events, "link");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["args"]["oldpath"], "/nonexistent-kiltx/shadow");
    assert_eq!(l[0]["result_captured"], false);
    // symlink targets as given, never resolved or normalised
    let sl = of(&r.events, "symlink");
    assert_eq!(sl[0]["args"]["target"], "/etc");
    assert_eq!(
        s(&sl[0]["args"]["abspath"]),
        d.join("etc_link").to_str().unwrap()
    );
    let sla = of(&r.events, "symlinkat");
    assert_eq!(sla[0]["args"]["target"], "../etc//shadow");
    assert_eq!(sla[0]["args"]["linkpath"], "shadow_link");
    // a sensitive open that fails
    let o = of(&r.events, "openat")
        .into_iter()
        .find(|e| s(&e["args"]["path"]) == "/root/.ssh/kiltx-no-such-key")
        .expect("failed sensitive open reported");
    assert_eq!(o["errno"], "ENOENT");
    assert_eq!(o["args"]["flags"], json!(["O_RDONLY"]));

    // ptrace under kiltx always fails (the process is traced already); the
    // attempts are events, requests by name
    let r = run(&d, &[], &[&f, "ptrace"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let eperm = libc::EPERM.to_string();
    assert_eq!(
        r.stdout.split_whitespace().collect::<Vec<_>>(),
        ["-1", &eperm, "-1", &eperm]
    );
    let p = of(&r.events, "ptrace");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0]["args"]["request"], "PTRACE_TRACEME");
    assert_eq!(p[0]["errno"], "EPERM");
    assert_eq!(p[1]["args"]["request"], "PTRACE_ATTACH");
    assert_eq!(p[1]["errno"], "EPERM");
    let child = of(&r.events, "fork")
        .into_iter()
        .chain(of(&r.events, "clone"))
        .map(|e| i(&e["args"]["child_pid"]))
        .next()
        .expect("the attached child's fork");
    assert_eq!(i(&p[1]["args"]["pid"]), child);
}
