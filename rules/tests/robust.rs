//! User input never panics the engine: every libsinsp conformance condition
//! as a rule's condition (loads or is refused with a located error), and
//! event lines damaged byte by byte.
use kiltx_rules::{load, Engine, Options};
use std::path::PathBuf;

#[test]
fn every_conformance_condition_as_a_rule() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/falco/parser/conditions.tsv");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let (mut ok, mut refused) = (0, 0);
    for line in text.lines().skip(1) {
        let cond = line
            .split('\t')
            .nth(1)
            .unwrap()
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        if cond.len() > 10_000 {
            continue;
        }
        let mut yaml = String::from("- macro: a\n  condition: evt.type = open\n- macro: b\n  condition: proc.name = x\n- macro: c\n  condition: fd.name = y\n- rule: r\n  desc: d\n  output: \"%proc.name\"\n  priority: INFO\n  condition: |-\n");
        for l in cond.split('\n') {
            yaml.push_str("    ");
            yaml.push_str(l);
            yaml.push('\n');
        }
        match load(&[("r.yaml".into(), yaml)]) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(
                    !e.is_empty() && e.iter().all(|e| e.file == "r.yaml" && e.line >= 1),
                    "{e:?}"
                );
                refused += 1;
            }
        }
    }
    assert!(
        ok > 300 && refused > 300,
        "{ok} compiled, {refused} refused"
    );
}

#[test]
fn damaged_event_lines() {
    let rs = load(&[("r.yaml".into(), "- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name startswith /etc and not proc.aname[2] = x and proc.name contains a\n  output: \"%proc.name %fd.name %proc.aname[3] %evt.args\"\n  priority: INFO\n".into())]).unwrap();
    let mut e = Engine::new(rs, Options::default());
    let good = br#"{"ts":"2026-11-30T01:52:40.496491433Z","seq":13,"type":"syscall","container":"app","pid":2,"tid":2,"ppid":1,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"cat","exe":"/usr/bin/cat","syscall":"openat","abi":"x86_64","args":{"dirfd":"AT_FDCWD","path":"/etc/shadow","abspath":"/etc/shadow","flags":["O_RDONLY"]},"result_captured":true,"result":3}"#;
    let mut out = Vec::new();
    assert_eq!(e.process(good, &mut out), 1);
    for i in 0..good.len() {
        for b in [b'"', b'{', b'}', b'\\', b'0', 0xc3, 0xff, b'\n', b'-'] {
            let mut l = good.to_vec();
            l[i] = b;
            e.process(&l, &mut out);
            e.process(&l[..i], &mut out);
        }
    }
    assert!(e.stats.invalid > 0);
}

#[test]
fn escaped_names_are_read_whole() {
    let rs = load(&[("r.yaml".into(), "- rule: r\n  desc: d\n  condition: evt.type = openat and proc.name startswith c and proc.name endswith at\n  output: \"%proc.name\"\n  priority: INFO\n".into())]).unwrap();
    let mut e = Engine::new(rs, Options::default());
    let line = br#"{"ts":"2026-11-30T01:52:40.496491433Z","seq":1,"type":"syscall","container":"app","pid":2,"tid":2,"ppid":1,"euid":0,"egid":0,"comm":"c\"\nat","exe":"/x","syscall":"openat","args":{"path":"/a","abspath":"/a","flags":["O_RDONLY"]},"result_captured":true,"result":3}"#;
    let mut out = Vec::new();
    assert_eq!(e.process(line, &mut out), 1);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["output_fields"]["proc.name"], "c\"\nat");
}
