//! Process tree following: many processes, threads, exec from a non-leader
//! thread, vfork, clone3. The `check_*` functions are what each run must show;
//! the aarch64 tests (`aarch64.rs`) apply them to the same runs made in the
//! emulated guest.
use crate::common::*;
use std::collections::{HashMap, HashSet};

#[test]
fn thousand_short_lived_processes_are_all_seen() {
    let d = tempdir("thousand");
    let r = run(
        &d,
        &["--profile", "minimal"],
        &[
            "/bin/sh",
            "-c",
            "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done",
        ],
    );
    check_short_lived(&r, 1000);
}

/// `sh -c 'i=0; while [ $i -lt N ]; do /bin/true; ...'` in the minimal profile.
pub(crate) fn check_short_lived(r: &Run, n: usize) {
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let execs: Vec<_> = of(&r.events, "execve")
        .into_iter()
        .filter(|e| s(&e["args"]["path"]) == "/bin/true")
        .collect();
    assert_eq!(execs.len(), n);
    let exec_pids: HashSet<i64> = execs.iter().map(|e| i(&e["pid"])).collect();
    assert_eq!(exec_pids.len(), n, "one exec per process");
    let sh_pid = i(&of(&r.events, "execve")[0]["pid"]);
    let forked: HashSet<i64> = r
        .events
        .iter()
        .filter(|e| e["type"] == "process" && e["syscall"] != "exit")
        .map(|e| i(&e["args"]["child_pid"]))
        .collect();
    let exited: HashMap<i64, i64> = of(&r.events, "exit")
        .iter()
        .map(|e| (i(&e["pid"]), i(&e["args"]["code"])))
        .collect();
    for p in &exec_pids {
        assert!(forked.contains(p), "fork of {p} not seen");
        assert_eq!(exited.get(p), Some(&0), "exit of {p} not seen");
        let e = execs.iter().find(|e| i(&e["pid"]) == *p).unwrap();
        assert_eq!(i(&e["ppid"]), sh_pid);
        assert_eq!(s(&e["comm"]), "true");
        assert_eq!(e["result"], 0);
    }
    assert_eq!(exited.get(&sh_pid), Some(&0));
}

#[test]
fn every_thread_is_followed() {
    let d = tempdir("threads");
    let p = prog("threads");
    let r = run(&d, &[], &[p.to_str().unwrap(), d.to_str().unwrap(), "40"]);
    check_threads(&r, 40);
}

/// `threads DIR N`.
pub(crate) fn check_threads(r: &Run, n: usize) {
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let pid = i(&of(&r.events, "execve")[0]["pid"]);
    let clones: Vec<_> = of(&r.events, "clone3")
        .into_iter()
        .chain(of(&r.events, "clone"))
        .filter(|e| e["args"]["thread"] == true)
        .collect();
    assert_eq!(clones.len(), n);
    let tids: HashSet<i64> = clones.iter().map(|e| i(&e["args"]["child_tid"])).collect();
    assert_eq!(tids.len(), n);
    for c in &clones {
        assert_eq!(i(&c["args"]["child_pid"]), pid);
    }
    // each thread's open is attributed to it (pid = process, tid = thread)
    let opens: Vec<_> = of(&r.events, "openat")
        .into_iter()
        .filter(|e| s(&e["args"]["path"]).contains("/thread-"))
        .collect();
    assert_eq!(opens.len(), n);
    for o in &opens {
        let tid = i(&o["tid"]);
        assert!(tids.contains(&tid));
        assert_eq!(i(&o["pid"]), pid);
        assert!(s(&o["args"]["path"]).ends_with(&format!("-{tid}")));
        assert!(i(&o["result"]) >= 0);
    }
    let thread_exits: HashSet<i64> = of(&r.events, "exit")
        .iter()
        .filter(|e| e["args"]["thread"] == true)
        .map(|e| i(&e["tid"]))
        .collect();
    assert_eq!(thread_exits, tids, "every thread exit seen");
}

#[test]
fn exec_from_a_non_leader_thread() {
    let d = tempdir("thread-exec");
    let p = prog("thread_exec");
    let r = run(&d, &[], &[p.to_str().unwrap(), "/bin/sh", "-c", "exit 5"]);
    check_thread_exec(&r);
}

/// `thread_exec /bin/sh -c 'exit 5'`.
pub(crate) fn check_thread_exec(r: &Run) {
    assert_eq!(r.code, Some(5), "stderr: {}", r.stderr);
    // "tid T pid P"
    let f: Vec<i64> = r
        .stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (tid, pid) = (f[0], f[1]);
    assert_ne!(tid, pid);
    let execs = of(&r.events, "execve");
    let e = execs
        .iter()
        .find(|e| s(&e["args"]["path"]) == "/bin/sh")
        .expect("exec of /bin/sh from the thread");
    assert_eq!(i(&e["pid"]), pid);
    assert_eq!(
        i(&e["tid"]),
        pid,
        "after exec the thread has the leader's id"
    );
    assert_eq!(i(&e["args"]["former_tid"]), tid);
    assert_eq!(e["result"], 0);
    assert_eq!(s(&e["comm"]), "sh");
    let exits = of(&r.events, "exit");
    let last = exits.last().unwrap();
    assert_eq!(i(&last["pid"]), pid);
    assert_eq!(i(&last["args"]["code"]), 5);
}

#[test]
fn vfork_child_is_followed() {
    let d = tempdir("vfork");
    let p = prog("vfork");
    let r = run(
        &d,
        &[],
        &[
            p.to_str().unwrap(),
            "/bin/sh",
            "-c",
            "echo hi > /dev/null; exit 3",
        ],
    );
    check_vfork(&r, "vfork");
}

/// `vfork /bin/sh -c 'echo hi > /dev/null; exit 3'`; `syscall` is the name of
/// the event (aarch64 has no vfork syscall: glibc's vfork is a clone).
pub(crate) fn check_vfork(r: &Run, syscall: &str) {
    assert_eq!(r.code, Some(3), "stderr: {}", r.stderr);
    let child: i64 = r
        .stdout
        .trim()
        .trim_start_matches("child ")
        .parse()
        .unwrap();
    let vf = of(&r.events, syscall);
    assert_eq!(vf.len(), 1);
    let flags = strs_of(&vf[0]["args"]["flags"]);
    assert!(
        flags.contains(&"CLONE_VFORK") && flags.contains(&"CLONE_VM"),
        "{flags:?}"
    );
    assert_eq!(i(&vf[0]["args"]["child_pid"]), child);
    let ex = of(&r.events, "execve");
    assert!(ex
        .iter()
        .any(|e| i(&e["pid"]) == child && s(&e["args"]["path"]) == "/bin/sh"));
    let devnull = of(&r.events, "openat");
    assert!(devnull
        .iter()
        .any(|e| i(&e["pid"]) == child && s(&e["args"]["path"]) == "/dev/null"));
    assert!(of(&r.events, "exit")
        .iter()
        .any(|e| i(&e["pid"]) == child && i(&e["args"]["code"]) == 3));
}

#[test]
fn clone3_child_is_followed() {
    let d = tempdir("clone3");
    let p = prog("clone3");
    let r = run(&d, &[], &[p.to_str().unwrap(), d.to_str().unwrap()]);
    check_clone3(&r);
}

/// `clone3 DIR`.
pub(crate) fn check_clone3(r: &Run) {
    assert_eq!(r.code, Some(0), "stdout: {} stderr: {}", r.stdout, r.stderr);
    let child: i64 = r.stdout.split_whitespace().nth(1).unwrap().parse().unwrap();
    let c3 = of(&r.events, "clone3");
    let ev = c3
        .iter()
        .find(|e| i(&e["args"]["child_pid"]) == child)
        .expect("clone3 event");
    assert_eq!(ev["args"]["thread"], false);
    let opens = of(&r.events, "openat");
    let o = opens
        .iter()
        .find(|e| s(&e["args"]["path"]).ends_with(&format!("clone3-{child}")))
        .expect("the clone3 child's open is captured");
    assert_eq!(i(&o["pid"]), child);
    assert!(of(&r.events, "exit")
        .iter()
        .any(|e| i(&e["pid"]) == child && i(&e["args"]["code"]) == 7));
}

fn strs_of(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default()
}
