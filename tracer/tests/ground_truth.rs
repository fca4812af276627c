//! Ground truth: the exec/open/connect/rename events of a scripted workload
//! equal what `strace -f` sees for the same workload, field by field.
//!
//! Pids differ between two runs, so every process and thread of the workload
//! "marks" itself by creating DIR/mark-LABEL-TID; both traces are rewritten
//! with labels instead of ids (which also checks that the tracer's pid/tid
//! fields are right). strace is required: the test fails without it.
//!
//! The aarch64 tests (`aarch64.rs`) run the same script and workload in the
//! emulated guest, under the guest's strace and the aarch64 tracer, and
//! check them with `compare` and `check_tree`.
use crate::common::*;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::net::UnixListener;

pub(crate) const SCRIPT: &str = r#": > "$D/mark-sh-$$"
echo hello > "$D/out.txt"
sh -c ': > "$D/mark-mv-$$"; exec mv "$D/out.txt" "$D/moved.txt"'
"$W" "$D" "$PORT" "$SOCK"
sh -c ': > "$D/mark-cat-$$"; exec cat /etc/hostname' > "$D/cat.out"
"#;

pub(crate) const SYSCALLS: &[&str] = &[
    "execve",
    "open",
    "openat",
    "creat",
    "connect",
    "rename",
    "renameat",
    "renameat2",
];

/// One comparable event: (tid, description).
type Ev = (i64, String);

fn write_intent(flags: &[String]) -> bool {
    flags
        .iter()
        .any(|f| matches!(f.as_str(), "O_WRONLY" | "O_RDWR" | "O_CREAT" | "O_TRUNC"))
}

fn flags_key(flags: &[String]) -> String {
    let mut f: Vec<&str> = flags
        .iter()
        .map(|s| s.as_str())
        .filter(|f| *f != "O_LARGEFILE")
        .collect();
    f.sort();
    f.join("|")
}

/// Split strace's argument list at top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    for c in s.chars() {
        if in_str {
            cur.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '[' | '{' | '(' => {
                depth += 1;
                cur.push(c);
            }
            ']' | '}' | ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn strace_result(r: &str) -> String {
    let r = r.trim();
    if let Some(rest) = r.strip_prefix("-1 ") {
        format!("err:{}", rest.split_whitespace().next().unwrap_or(""))
    } else {
        format!("ok:{}", r.split_whitespace().next().unwrap_or(""))
    }
}

fn json_result(e: &serde_json::Value) -> String {
    if e["result_captured"] != true {
        return "-".into();
    }
    match e["errno"].as_str() {
        Some(n) => format!("err:{n}"),
        None => format!("ok:{}", e["result"]),
    }
}

fn parse_strace(text: &str) -> Vec<Ev> {
    let mut partial: HashMap<i64, String> = HashMap::new();
    let mut lines = Vec::new();
    for l in text.lines() {
        let (pid, rest) = match l.split_once(' ') {
            Some((p, r)) => match p.parse::<i64>() {
                Ok(p) => (p, r.trim_start()),
                Err(_) => continue,
            },
            None => continue,
        };
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            partial.insert(pid, head.to_string());
            continue;
        }
        if let Some(tail) = rest.strip_prefix("<... ") {
            let tail = tail.split_once("resumed>").map(|x| x.1).unwrap_or("");
            let head = partial.remove(&pid).unwrap_or_default();
            lines.push((pid, format!("{head}{tail}")));
            continue;
        }
        lines.push((pid, rest.to_string()));
    }
    let mut out = Vec::new();
    for (pid, l) in lines {
        let Some((name, rest)) = l.split_once('(') else {
            continue;
        };
        if !SYSCALLS.contains(&name) {
            continue;
        }
        let Some((args, res)) = rest.rsplit_once(") = ") else {
            continue;
        };
        let a = split_args(args);
        let result = strace_result(res);
        let desc = match name {
            "execve" => {
                let argv: Vec<String> =
                    split_args(a[1].trim_start_matches('[').trim_end_matches(']'))
                        .iter()
                        .map(|x| unquote(x))
                        .collect();
                format!("execve {} {:?} {result}", unquote(&a[0]), argv)
            }
            "openat" | "open" | "creat" => {
                let (path, flags, mode) = match name {
                    "openat" => (unquote(&a[1]), a[2].clone(), a.get(3).cloned()),
                    "open" => (unquote(&a[0]), a[1].clone(), a.get(2).cloned()),
                    _ => (
                        unquote(&a[0]),
                        "O_WRONLY|O_CREAT|O_TRUNC".to_string(),
                        a.get(1).cloned(),
                    ),
                };
                let flags: Vec<String> = flags.split('|').map(|s| s.to_string()).collect();
                if !write_intent(&flags) && path != "/etc/shadow" {
                    continue;
                }
                format!(
                    "{name} {path} {} {} {result}",
                    flags_key(&flags),
                    mode.unwrap_or_default()
                )
            }
            "connect" => {
                let sa = &a[1];
                let addr = if sa.contains("AF_INET,") {
                    let port = sa.split("htons(").nth(1).and_then(|x| x.split(')').next());
                    let ip = sa
                        .split("inet_addr(\"")
                        .nth(1)
                        .and_then(|x| x.split('"').next());
                    format!("inet {}:{}", ip.unwrap_or(""), port.unwrap_or(""))
                } else if sa.contains("AF_UNIX") {
                    let p = sa.split("sun_path=").nth(1).unwrap_or("");
                    format!("unix {}", unquote(p.trim_end_matches('}')))
                } else {
                    sa.clone()
                };
                format!("connect {addr} {result}")
            }
            "rename" => format!("rename {} {}", unquote(&a[0]), unquote(&a[1])),
            // renameat has no flags argument (aarch64's C library uses it for rename)
            "renameat" => format!("renameat {} {}", unquote(&a[1]), unquote(&a[3])),
            _ => format!(
                "{name} {} {} {}",
                unquote(&a[1]),
                unquote(&a[3]),
                a.get(4).cloned().unwrap_or_default()
            ),
        };
        out.push((pid, desc));
    }
    out
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn parse_ours(events: &[serde_json::Value]) -> Vec<Ev> {
    let mut out = Vec::new();
    for e in events {
        let name = s(&e["syscall"]);
        if e["type"] != "syscall" || !SYSCALLS.contains(&name) {
            continue;
        }
        let a = &e["args"];
        let result = json_result(e);
        let desc = match name {
            "execve" => format!("execve {} {:?} {result}", s(&a["path"]), strs(&a["argv"])),
            "openat" | "open" | "creat" => {
                let flags = strs(&a["flags"]);
                let flags = if name == "creat" {
                    vec!["O_WRONLY".into(), "O_CREAT".into(), "O_TRUNC".into()]
                } else {
                    flags
                };
                format!(
                    "{name} {} {} {} {result}",
                    s(&a["path"]),
                    flags_key(&flags),
                    s(&a["mode"])
                )
            }
            "connect" => {
                let ad = &a["addr"];
                let addr = match s(&ad["family"]) {
                    "inet" => format!("inet {}:{}", s(&ad["address"]), ad["port"]),
                    "unix" => format!("unix {}", s(&ad["path"])),
                    _ => ad.to_string(),
                };
                format!("connect {addr} {result}")
            }
            "rename" => format!("rename {} {}", s(&a["oldpath"]), s(&a["newpath"])),
            "renameat" => format!("renameat {} {}", s(&a["oldpath"]), s(&a["newpath"])),
            _ => {
                let fl = strs(&a["flags"]).join("|");
                format!(
                    "{name} {} {} {}",
                    s(&a["oldpath"]),
                    s(&a["newpath"]),
                    if fl.is_empty() { "0".to_string() } else { fl }
                )
            }
        };
        out.push((i(&e["tid"]), desc));
    }
    out
}

/// Replace tids by the labels the workload marked them with.
fn labelled(evs: &[Ev]) -> BTreeMap<String, usize> {
    let mut labels: HashMap<i64, String> = HashMap::new();
    for (tid, d) in evs {
        if let Some(p) = d.split_whitespace().nth(1) {
            if let Some(m) = p.rsplit('/').next().and_then(|f| f.strip_prefix("mark-")) {
                if let Some((label, id)) = m.rsplit_once('-') {
                    assert_eq!(
                        id.parse::<i64>().ok(),
                        Some(*tid),
                        "marker {p} made by tid {tid}"
                    );
                    labels.insert(*tid, label.to_string());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for (tid, d) in evs {
        let label = labels
            .get(tid)
            .unwrap_or_else(|| panic!("event of an unmarked task {tid}: {d}"));
        let d = d.replace(&format!("-{tid} "), "-ID ");
        *out.entry(format!("{label}: {d}")).or_insert(0) += 1;
    }
    out
}

#[test]
fn events_match_strace() {
    check_against_strace(false);
}

/// Same, with the tracer reading syscalls from the registers (its fallback
/// for kernels without PTRACE_GET_SYSCALL_INFO).
#[test]
fn events_match_strace_from_registers() {
    check_against_strace(true);
}

fn check_against_strace(regs_only: bool) {
    let d = tempdir("ground-truth");
    let work = d.join("work");
    let script = d.join("script.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    let w = prog("workload");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let sock = d.join("u.sock");
    let _ul = UnixListener::bind(&sock).unwrap();
    let envs = [
        ("D", work.to_str().unwrap()),
        ("W", w.to_str().unwrap()),
        ("PORT", port.as_str()),
        ("SOCK", sock.to_str().unwrap()),
    ];
    let fresh = || {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
    };

    fresh();
    let st_out = d.join("strace.txt");
    let st = hermetic("strace")
        .args(["-f", "-qq", "-s", "4096", "-e"])
        .arg(format!("trace={}", SYSCALLS.join(",")))
        .arg("-o")
        .arg(&st_out)
        .arg("/bin/sh")
        .arg(&script)
        .envs(envs)
        .output()
        .expect("strace is required for this test (apt-get install strace)");
    assert!(st.status.success(), "strace run failed: {:?}", st);
    let theirs = std::fs::read_to_string(&st_out).expect("strace output");

    fresh();
    let ev = d.join("events.jsonl");
    let out = tracer_cmd()
        .args(["run", "--output", &format!("file:{}", ev.display()), "--"])
        .arg("/bin/sh")
        .arg(&script)
        .envs(envs)
        .env("KILTX_TRACER_REGS_ONLY", if regs_only { "1" } else { "0" })
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, st.stdout, "same program output");
    let events = read_events(&ev);
    compare(&theirs, &events);
    check_tree(&events);
}

/// The events of interest in strace's output (`-f -o`) and in the tracer's,
/// with tids replaced by the workload's labels, must be the same.
pub(crate) fn compare(strace_output: &str, events: &[serde_json::Value]) {
    let theirs = labelled(&parse_strace(strace_output));
    let ours = labelled(&parse_ours(events));
    let missing: Vec<_> = theirs
        .iter()
        .filter(|(k, v)| ours.get(*k) != Some(v))
        .collect();
    let extra: Vec<_> = ours
        .iter()
        .filter(|(k, v)| theirs.get(*k) != Some(v))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "strace saw but we did not: {missing:#?}\nwe saw but strace did not: {extra:#?}"
    );
    eprintln!("compared {} distinct events", ours.len());
    // sanity: the comparison covered every kind of event
    for kind in [
        " execve ",
        " openat ",
        " connect ",
        "rename",
        "/etc/shadow",
        "mark-T2",
    ] {
        assert!(
            ours.keys().any(|k| k.contains(kind)),
            "no {kind} event compared"
        );
    }
}

/// The process tree as the workload built it: pid/ppid of each marked task.
pub(crate) fn check_tree(events: &[serde_json::Value]) {
    let mut pid_of: HashMap<String, (i64, i64)> = HashMap::new();
    for e in events {
        if let Some(m) = s(&e["args"]["path"])
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_prefix("mark-"))
        {
            if let Some((label, _)) = m.rsplit_once('-') {
                pid_of.insert(label.to_string(), (i(&e["pid"]), i(&e["ppid"])));
            }
        }
    }
    let (sh, _) = pid_of["sh"];
    let (wp, wpp) = pid_of["W"];
    let (a, ap) = pid_of["A"];
    let (_, bp) = pid_of["B"];
    assert_eq!(wpp, sh);
    assert_eq!(ap, wp);
    assert_eq!(bp, a);
    for t in ["T0", "T1", "T2"] {
        assert_eq!(
            pid_of[t].0, wp,
            "thread {t} belongs to the workload process"
        );
    }
}
