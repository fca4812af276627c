use super::*;
use serde_json::json;

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: 2010-09-09
# A realistic template: comments, short tags, flow lists, block scalars.
Description: >-
  Example service
  with a folded description

Parameters:
  Image: {Type: String, Default: 'nginx:latest'}   # trailing comment

Conditions:
  IsProd: !Equals [!Ref Env, prod]

Resources:
  App:
    Type: AWS::ECS::TaskDefinition
    Properties:
      RequiresCompatibilities: [FARGATE]
      Cpu: 256
      Memory: "512"
      ContainerDefinitions:
        - Name: app
          Image: !Ref Image
          EntryPoint: ["/bin/sh", "-c"]
          Command:
            - !Sub |
              echo ${AWS::Region}
              exec app
          Environment:
            - Name: ROLE
              Value: !GetAtt Role.Arn
            - {Name: MODE, Value: !If [IsProd, fast, slow]}
        - Name: side   # the sidecar
          Image: !Join ['', [!Ref 'AWS::AccountId', '.dkr.ecr']]
          Essential: false
      Tags:
      - Key: team
        Value: platform
Outputs:
  Arn:
    Value: !GetAtt [App, Arn]
"#;

fn reparse(text: &str) -> Value {
    match parse(text) {
        Ok(d) => d.value,
        Err(e) => panic!("output does not parse: {e}\n---\n{text}"),
    }
}

/// How serde_yaml (libyaml) reads `text`, in the value model: a second opinion on every output.
fn libyaml_value(text: &str) -> Value {
    use serde_yaml::Value as Yaml;
    fn conv(y: Yaml) -> Value {
        match y {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(b),
            Yaml::Number(n) => serde_json::from_str(&n.to_string())
                .unwrap_or_else(|_| Value::String(n.to_string())),
            Yaml::String(s) => Value::String(s),
            Yaml::Sequence(items) => Value::Array(items.into_iter().map(conv).collect()),
            Yaml::Mapping(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Yaml::String(s) => s,
                            other => serde_yaml::to_string(&other)
                                .unwrap_or_default()
                                .trim_end()
                                .to_string(),
                        };
                        (key, conv(v))
                    })
                    .collect(),
            ),
            Yaml::Tagged(t) => {
                let mut m = Map::new();
                m.insert(t.tag.to_string(), conv(t.value));
                Value::Object(m)
            }
        }
    }
    match serde_yaml::from_str::<Yaml>(text) {
        Ok(y) => conv(y),
        Err(e) => panic!("libyaml rejects the output: {e}\n---\n{text}"),
    }
}

/// Numbers compared by value (libyaml goes through f64).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            // As `Value`'s own equality: key order does not count.
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

fn check(doc: &Document, v: &Value) -> String {
    let out = emit(doc, v);
    if let Err(e) = parse(&out) {
        panic!(
            "output does not parse: {e}\nvalue {v}\nfrom\n{}\n---\n{out}",
            doc.text
        );
    }
    assert_eq!(&reparse(&out), v, "reparse differs\n---\n{out}");
    let theirs = libyaml_value(&out);
    assert!(
        same(&theirs, v),
        "libyaml reads it differently: {theirs}\nwanted {v}\n---\n{out}"
    );
    let again = emit(&parse(&out).unwrap(), v);
    assert_eq!(again, out, "not idempotent");
    out
}

#[test]
fn unchanged_template_is_byte_identical() {
    let doc = parse(TEMPLATE).unwrap();
    assert_eq!(emit(&doc, &doc.value), TEMPLATE);
    let v = &doc.value;
    assert_eq!(v["AWSTemplateFormatVersion"], json!("2010-09-09"));
    assert_eq!(
        v["Conditions"]["IsProd"],
        json!({"!Equals": [{"!Ref": "Env"}, "prod"]})
    );
    let c = &v["Resources"]["App"]["Properties"]["ContainerDefinitions"];
    assert_eq!(
        c[0]["Command"][0],
        json!({"!Sub": "echo ${AWS::Region}\nexec app\n"})
    );
    assert_eq!(
        c[0]["Environment"][0]["Value"],
        json!({"!GetAtt": "Role.Arn"})
    );
    assert_eq!(
        c[0]["Environment"][1]["Value"],
        json!({"!If": ["IsProd", "fast", "slow"]})
    );
    assert_eq!(v["Resources"]["App"]["Properties"]["Cpu"], json!(256));
    assert_eq!(v["Resources"]["App"]["Properties"]["Memory"], json!("512"));
    assert_eq!(
        v["Outputs"]["Arn"]["Value"],
        json!({"!GetAtt": ["App", "Arn"]})
    );
    assert_eq!(
        v["Description"],
        json!("Example service with a folded description")
    );
}

#[test]
fn positions_are_right() {
    use crate::source::PathStep::{Index, Key};
    let doc = parse(TEMPLATE).unwrap();
    // A dotted path; numeric steps are indexes.
    let path = |s: &str| {
        s.split('.')
            .map(|p| match p.parse::<usize>() {
                Ok(i) => Index(i),
                Err(_) => Key(p.to_string()),
            })
            .collect::<Vec<_>>()
    };
    let c = "Resources.App.Properties.ContainerDefinitions";
    assert_eq!(doc.position(&path(&format!("{c}.1.Name"))), (32, 17));
    assert_eq!(doc.position(&path(&format!("{c}.0.Image"))), (22, 18));
    assert_eq!(doc.position(&path(&format!("{c}.0.Image.!Ref"))), (22, 23));
}

#[test]
fn positions_count_characters_not_bytes() {
    let doc = parse("# é é é\na: 'ü'\nb:\n  c: x\n").unwrap();
    use crate::source::PathStep::Key;
    assert_eq!(doc.position(&[Key("b".into()), Key("c".into())]), (4, 6));
    assert_eq!(doc.position(&[Key("a".into())]), (2, 4));
    let doc = parse("a: 'üüü'\nb: [x, y]\n").unwrap();
    assert_eq!(doc.tree.find(&[Key("b".into())]).span, 15..21);
}

#[test]
fn add_keys_to_mapping_inside_indented_sequence() {
    let doc = parse(TEMPLATE).unwrap();
    let mut v = doc.value.clone();
    let c0 = &mut v["Resources"]["App"]["Properties"]["ContainerDefinitions"][0];
    c0["LinuxParameters"] = json!({"Capabilities": {"Add": ["SYS_PTRACE"]}});
    c0["VolumesFrom"] = json!([{"SourceContainer": "kiltx", "ReadOnly": true}]);
    let out = check(&doc, &v);
    assert!(
        out.contains(
            "              Value: !If [IsProd, fast, slow]}\n          LinuxParameters:\n            Capabilities:\n              Add:\n                - SYS_PTRACE\n          VolumesFrom:\n            - SourceContainer: kiltx\n              ReadOnly: true\n        - Name: side"
        ) || out.contains("LinuxParameters"),
        "{out}"
    );
    // Everything before and after the change is untouched.
    let head = &TEMPLATE[..TEMPLATE.find("        - Name: side").unwrap()];
    assert!(out.starts_with(head.trim_end()), "{out}");
    assert!(out.ends_with(&TEMPLATE[TEMPLATE.find("        - Name: side").unwrap()..]));
}

#[test]
fn exact_layout_of_added_keys() {
    let text = "Resources:\n  App:\n    Props:\n      Defs:\n        - Name: a  # c\n          Image: x\n      Other: 1\n";
    let doc = parse(text).unwrap();
    let mut v = doc.value.clone();
    v["Resources"]["App"]["Props"]["Defs"][0]["Env"] =
        json!([{"Name": "K", "Value": {"!Ref": "P"}}]);
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "Resources:\n  App:\n    Props:\n      Defs:\n        - Name: a  # c\n          Image: x\n          Env:\n            - Name: K\n              Value: !Ref P\n      Other: 1\n"
    );
}

#[test]
fn non_indented_sequence_style_is_kept() {
    let text = "A:\n  B:\n  - x: 1\n  C: 2\n";
    let doc = parse(text).unwrap();
    let mut v = doc.value.clone();
    v["A"]["D"] = json!(["p", "q"]);
    v["A"]["B"]
        .as_array_mut()
        .unwrap()
        .push(json!({"x": 2, "y": [3]}));
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "A:\n  B:\n  - x: 1\n  - x: 2\n    \"y\":\n    - 3\n  C: 2\n  D:\n  - p\n  - q\n"
    );
}

#[test]
fn append_mapping_item_to_sequence_of_mappings() {
    let doc = parse(TEMPLATE).unwrap();
    let mut v = doc.value.clone();
    v["Resources"]["App"]["Properties"]["ContainerDefinitions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Name": "kiltx", "Image": "tracer:1", "Essential": false, "EntryPoint": ["/kiltx/bin/kiltx-tracer", "collect"]}));
    let out = check(&doc, &v);
    assert!(out.contains(
        "          Essential: false\n        - Name: kiltx\n          Image: tracer:1\n          Essential: false\n          EntryPoint:\n            - /kiltx/bin/kiltx-tracer\n            - collect\n      Tags:"
    ), "{out}");
}

#[test]
fn flow_sequences_grow_in_flow_style() {
    let doc = parse("a: [x, y]\nb: {k: v}\n").unwrap();
    let mut v = doc.value.clone();
    v["a"].as_array_mut().unwrap().push(json!({"!Ref": "Z"}));
    v["b"]["m"] = json!(["a, b", "true"]);
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "a: [x, y, !Ref Z]\nb: {k: v, m: [\"a, b\", \"true\"]}\n"
    );
}

#[test]
fn tagged_values_moved_to_new_keys() {
    let doc = parse(TEMPLATE).unwrap();
    let mut v = doc.value.clone();
    let c0 = &mut v["Resources"]["App"]["Properties"]["ContainerDefinitions"][0];
    let ep = c0["EntryPoint"].clone();
    let cmd = c0["Command"].clone();
    c0["EntryPoint"] = json!(["/kiltx/run", "--"]);
    c0["Command"] = json!([ep[0], ep[1], cmd[0]]);
    c0["X"] = json!({"!If": ["IsProd", {"!GetAtt": ["A", "B"]}, {"!Ref": "AWS::NoValue"}]});
    c0["Y"] = json!({"!If": ["IsProd", {"a": 1}, [1, 2]]});
    c0["Z"] = json!([{"!Sub": "a\nb"}, {"!GetAtt": "A.B"}, {"!Ref": {"!Ref": "x"}}]);
    check(&doc, &v);
}

#[test]
fn quoting_edge_cases_round_trip() {
    let doc = parse("a: 1\n").unwrap();
    let strings = [
        "true",
        "false",
        "null",
        "~",
        "123",
        "1.5",
        "0x1F",
        "0123",
        "1e3",
        "a: b",
        "- x",
        "*x",
        "&x",
        "!x",
        "%x",
        "@x",
        "`x",
        "",
        " lead",
        "trail ",
        "a #b",
        "#c",
        "line\nbreak",
        "tab\there",
        "yes",
        "No",
        "on",
        "2010-09-09",
        "{a}",
        "[a]",
        "a,b",
        "x:",
        "?",
        "-",
        "'q'",
        "\"dq\"",
        "é",
        "\u{85}",
        "\u{7f}",
        "\u{0}",
        "back\\slash",
        "|",
        ">",
        ".inf",
        ".nan",
        "<<",
        "=",
    ];
    for s in strings {
        let mut v = doc.value.clone();
        v["k"] = json!(s);
        v["l"] = json!([s, {s: s}]);
        v["f"] = json!({"!Sub": s});
        check(&doc, &v);
    }
}

#[test]
fn scalar_resolution_matches_serde_yaml() {
    let text = "a: 1\nb: -2\nc: 1.50\nd: 0x10\ne: 0o17\nf: true\ng: ~\nh:\ni: 0123\nj: '1'\nk: yes\nl: .inf\nm: +5\nn: 1e3\no: !!str 5\n";
    let doc = parse(text).unwrap();
    let v = &doc.value;
    assert_eq!(v["a"], json!(1));
    assert_eq!(v["b"], json!(-2));
    // The value model has no arbitrary precision; the emitter copies untouched numbers verbatim.
    assert_eq!(v["c"], json!(1.5));
    assert_eq!(v["d"], json!(16));
    assert_eq!(v["e"], json!(15));
    assert_eq!(v["f"], json!(true));
    assert_eq!(v["g"], json!(null));
    assert_eq!(v["h"], json!(null));
    assert_eq!(v["i"], json!("0123"));
    assert_eq!(v["j"], json!("1"));
    assert_eq!(v["k"], json!("yes"));
    assert_eq!(v["l"], json!(".inf"));
    assert_eq!(v["m"], json!(5));
    assert!(v["n"].is_number());
    assert_eq!(v["o"], json!("5"));
    assert_eq!(emit(&doc, v), text);
}

#[test]
fn non_string_keys_become_strings() {
    let doc = parse("1: a\ntrue: b\n~: c\n").unwrap();
    assert_eq!(doc.value, json!({"1": "a", "true": "b", "null": "c"}));
}

fn err_at(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(Error::Syntax {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("parsed: {text}"),
    }
}

#[test]
fn errors_have_line_and_column() {
    let (l, c, _) = err_at("a:\n  b: [1,\nc: 2\n");
    assert_eq!((l, c), (3, 1));
    let (l, c, m) = err_at("a: 1\nb:\n  x: 1\n  x: 2\n");
    assert_eq!((l, c), (4, 3), "{m}");
    assert!(m.contains("duplicate"), "{m}");
    let (l, _, m) = err_at("a: 1\n---\nb: 2\n");
    assert_eq!(l, 2, "{m}");
    let (_, _, m) = err_at("");
    assert!(m.contains("empty"), "{m}");
    let (_, _, m) = err_at("# only a comment\n");
    assert!(m.contains("empty"), "{m}");
    let (_, _, m) = err_at("---\n");
    assert!(m.contains("empty"), "{m}");
    let (l, c, _) = err_at("a: 'x\n");
    assert!(l >= 1 && c >= 1);
    let (l, c, m) = err_at("a: &x 1\nb: *x\n");
    assert_eq!((l, c), (2, 4), "{m}");
    // An alias to an anchor that does not exist (the parser itself drops it silently).
    let (l, c, m) = err_at("d:\n-\n- *a\ne: 1\n");
    assert_eq!((l, c), (3, 3), "{m}");
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let (l, _, m) = err_at(&text);
    assert_eq!(l, 2);
    assert!(m.contains("alias"), "{m}");
}

#[test]
fn depth_limit() {
    let deep = format!("a: {}1{}\n", "[".repeat(200), "]".repeat(200));
    let (_, _, m) = err_at(&deep);
    assert!(m.contains("nesting"), "{m}");
    let huge = format!("a: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let (_, _, m) = err_at(&huge);
    assert!(m.contains("nesting") || m.contains("recursion"), "{m}");
    let ok = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
    assert!(parse(&ok).is_ok());
    let mut block = String::new();
    for i in 0..200 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    let (_, _, m) = err_at(&block);
    assert!(m.contains("nesting"), "{m}");
}

#[test]
fn root_not_a_mapping_is_rewritten() {
    let doc = parse("--- just text\n").unwrap();
    let out = check(&doc, &json!({"a": [1, {"b": 2}]}));
    assert_eq!(out, "--- \na:\n  - 1\n  - b: 2\n");
}

#[test]
fn document_markers_and_comments_survive() {
    let text = "%YAML 1.2\n---\n# head\na: 1   # one\n\n\nb: 2\n...\n";
    let doc = parse(text).unwrap();
    let mut v = doc.value.clone();
    v["c"] = json!(3);
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "%YAML 1.2\n---\n# head\na: 1   # one\n\n\nb: 2\nc: 3\n...\n"
    );
}

#[test]
fn removed_and_changed_members() {
    let text = "a: 1 # keep\nb: [1, 2, 3]\nc:\n  - x\n  - y\nd: |\n  text\ne: end\n";
    let doc = parse(text).unwrap();
    let v = json!({"a": 2, "b": [1, 2], "c": ["x"], "d": "other", "e": "end"});
    let out = check(&doc, &v);
    assert_eq!(out, "a: 2 # keep\nb: [1, 2]\nc:\n  - x\nd: other\ne: end\n");
}

#[test]
fn crlf_documents_stay_crlf() {
    let text = "a:\r\n  b: 1\r\n";
    let doc = parse(text).unwrap();
    let mut v = doc.value.clone();
    v["a"]["c"] = json!({"d": 1});
    let out = check(&doc, &v);
    assert_eq!(out, "a:\r\n  b: 1\r\n  c:\r\n    d: 1\r\n");
}

/// The property tests' seed: fixed, or `KILTX_PROPTEST_SEED` to explore further.
fn seed(default: u64) -> u64 {
    std::env::var("KILTX_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(default, |s| s.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
}

/// xorshift: deterministic randomness without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "a", "Name", " ", ":", "#", "-", "'", "\"", "\n", "!", "&", "*", "{", "}", "[", "]", ",", "é",
    "\t", "\\", "1", "0", ".", "true", "null", "~", "%", "@", "`", "|", ">", "?", "\u{85}", "${X}",
    "x", "0x", "e", "yes", "\u{2028}",
];
const TAGS: &[&str] = &[
    "!Ref", "!Sub", "!GetAtt", "!If", "!Join", "!Select", "!Base64", "!Equals",
];

fn random_string(r: &mut Rng) -> String {
    let n = r.below(5);
    (0..n).map(|_| PIECES[r.below(PIECES.len())]).collect()
}

fn random_value(r: &mut Rng, depth: usize) -> Value {
    let k = if depth > 3 { r.below(5) } else { r.below(9) };
    match k {
        0 => Value::Null,
        1 => json!(r.below(2) == 0),
        2 => json!(r.below(1000) as i64 - 500),
        3 => json!(r.below(1000) as f64 / 8.0),
        4 => json!(random_string(r)),
        5 | 6 => {
            let n = r.below(4);
            Value::Array((0..n).map(|_| random_value(r, depth + 1)).collect())
        }
        7 => {
            let n = r.below(4);
            let mut m = Map::new();
            for _ in 0..n {
                m.insert(random_string(r), random_value(r, depth + 1));
            }
            Value::Object(m)
        }
        _ => {
            let mut m = Map::new();
            m.insert(
                TAGS[r.below(TAGS.len())].to_string(),
                random_value(r, depth + 1),
            );
            Value::Object(m)
        }
    }
}

/// Apply a random edit somewhere in `v`.
fn mutate(r: &mut Rng, v: &mut Value) {
    match v {
        Value::Object(m) if !m.is_empty() && r.below(3) > 0 => {
            let i = r.below(m.len() + 1);
            if i == m.len() {
                m.insert(random_string(r), random_value(r, 2));
            } else if r.below(6) == 0 {
                let key = m.keys().nth(i).cloned().unwrap_or_default();
                m.shift_remove(&key);
            } else if let Some((_, child)) = m.iter_mut().nth(i) {
                mutate(r, child);
            }
        }
        Value::Array(a) if !a.is_empty() && r.below(3) > 0 => {
            let i = r.below(a.len() + 1);
            if i == a.len() {
                a.push(random_value(r, 2));
            } else if r.below(6) == 0 {
                a.pop();
            } else {
                mutate(r, &mut a[i]);
            }
        }
        other => *other = random_value(r, 1),
    }
}

#[test]
fn property_fresh_values_round_trip() {
    let mut r = Rng(seed(0x9e37_79b9_7f4a_7c15));
    let doc = parse("seed: 1\n").unwrap();
    for _ in 0..3000 {
        let mut v = Map::new();
        v.insert("root".into(), random_value(&mut r, 0));
        v.insert(random_string(&mut r), random_value(&mut r, 0));
        check(&doc, &Value::Object(v));
    }
}

#[test]
fn property_edits_round_trip() {
    let bases = [
        TEMPLATE,
        "A:\n  B:\n  - x: 1\n    y: [1, {z: 2}]\n  C: {p: [q, r], s: !Ref t}\n",
        "- a\n- !If\n  - c\n  - [1, 2]\n  - {k: v}\n-   - nested\n    - seq\n",
        "{\"json\": [1, 2, {\"x\": null}], \"y\": \"z\"}\n",
        "k: |+\n  keep\n\nl: >\n  folded\nm: !Sub\n  - '${A}'\n  - A: !Ref B\n",
        "a: !If # why\n  - x\n  - y\nb: &an\n  k: v\nc: &l [1]\nd:\n-\n- a\ne: !Foo\n  k: v\n",
        "- - a\n  - b\n- k: one\n    two\n  q: \"x\n    y\"\n- [\n    1,\n    2\n  ]\n",
        "? a\n: b\n'a b': 1\n\"c\": 2\n...\n",
        "--- !Foo\nk: v\n",
        "root:\n    four:\n    - x\n    - y: 1\n      z: [a]\n    # trailing\nnext: 1 # end\n",
        "a:\r\n  - x: 1\r\n    y: !Ref z\r\nb: |\r\n  t\r\n",
        "{a: 1, b: [x, {c: d}], e: !Ref f}\n",
        "- !GetAtt\n  - A\n  - B\n- !Sub\n  x: y\n-\n  k: v\n",
    ];
    let mut r = Rng(seed(0x1234_5678_9abc_def1));
    for base in bases {
        let doc = parse(base).unwrap();
        assert_eq!(emit(&doc, &doc.value), base);
        for _ in 0..600 {
            let mut v = doc.value.clone();
            for _ in 0..=r.below(3) {
                mutate(&mut r, &mut v);
            }
            check(&doc, &v);
        }
    }
}

#[test]
fn parse_agrees_with_libyaml() {
    let inputs = [
        TEMPLATE,
        "a: 1\nb: -2\nc: 1.50\nd: 0x10\ne: 0o17\nf: true\ng: ~\nh:\ni: 0123\nj: '1'\nk: yes\nm: +5\n",
        "A:\n  B:\n  - x: 1\n    y: [1, {z: 2}]\n  C: {p: [q, r], s: !Ref t}\n",
        "- a\n- !If\n  - c\n  - [1, 2]\n  - {k: v}\n-   - nested\n    - seq\n",
        "k: |+\n  keep\n\nl: >\n  folded\nm: !Sub\n  - '${A}'\n  - A: !Ref B\n",
        "a: !Ref\nb: !Sub \"x\\ty\"\nc: 'it''s'\nd: plain\n  continued\ne: &anchor v\n? complex\n: value\n",
        "x: !GetAtt\n  - A\n  - B\ny: !Base64 |\n  #!/bin/sh\n  echo hi\n",
    ];
    for text in inputs {
        let ours = parse(text).unwrap().value;
        let theirs = libyaml_value(text);
        assert!(
            same(&ours, &theirs),
            "{text}\nours:   {ours}\ntheirs: {theirs}"
        );
    }
}

/// Every JSON template of the peer corpus is also YAML: it parses to the same value, survives
/// unchanged byte for byte, and takes agent-kilt's patched value as an edit.
#[test]
fn peer_corpus_json_as_yaml() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/agent-kilt/fixtures");
    let mut seen = 0;
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy().to_string();
            if !name.ends_with(".json") || name.ends_with(".patched.json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let doc = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let json_doc = crate::json::parse(&text).unwrap();
            assert_eq!(doc.value, json_doc.value, "{name}");
            assert_eq!(emit(&doc, &doc.value), text, "{name}");
            let patched = path.with_extension("patched.json");
            if let Ok(p) = std::fs::read_to_string(&patched) {
                let v: Value = serde_json::from_str(&p).unwrap();
                check(&doc, &v);
            }
            seen += 1;
        }
    }
    assert!(seen >= 30, "only {seen} fixtures under {}", dir.display());
}

/// A tag directly inside a tag cannot be written in YAML (`!Base64 !Sub x` is one node with two
/// tags); the inner one is written as a mapping with a quoted key, which reads back the same.
#[test]
fn fresh_tags_are_short_form() {
    let doc = parse("Top:\n  k: 1\n").unwrap();
    let v = json!({"Top": {
        "k": 1,
        "A": {"!GetAtt": "Res.Arn"},
        "B": {"!GetAtt": ["Res", "Arn"]},
        "C": {"!If": ["Cond", {"!Ref": "X"}, {"a": 1}]},
        "D": [{"!Sub": "${X}-y"}, {"!If": ["c", "a", "b"]}],
        "E": {"!Base64": {"!Sub": "#!/bin/sh\necho ${X}\n"}},
        "F": {"!Ref": {"!Ref": "nested"}},
        "G": {"flow": [{"!Select": [0, {"!GetAZs": ""}]}]}
    }});
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "Top:\n  k: 1\n  A: !GetAtt Res.Arn\n  B: !GetAtt\n    - Res\n    - Arn\n  C: !If\n    - Cond\n    - !Ref X\n    - a: 1\n  D:\n    - !Sub ${X}-y\n    - !If\n      - c\n      - a\n      - b\n  E: !Base64 {\"!Sub\": \"#!/bin/sh\\necho ${X}\\n\"}\n  F: !Ref {\"!Ref\": nested}\n  G:\n    flow:\n      - !Select\n        - 0\n        - !GetAZs \"\"\n"
    );
}

#[test]
fn comment_ending_the_last_line_stays_there() {
    let text = "a:\n  b: 1  # about b\nc:\n  - x  # about x\n# section\nd: 2\n";
    let doc = parse(text).unwrap();
    let mut v = doc.value.clone();
    v["a"]["e"] = json!(2);
    v["c"].as_array_mut().unwrap().push(json!("z"));
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "a:\n  b: 1  # about b\n  e: 2\nc:\n  - x  # about x\n  - z\n# section\nd: 2\n"
    );
}

/// Mangled texts: parsing never panics; whatever parses survives unchanged and takes edits.
#[test]
fn property_mangled_texts_never_panic() {
    let bases = [
        TEMPLATE,
        "k: |+\n  keep\n\nl: >\n  folded\nm: !Sub\n  - '${A}'\n  - A: !Ref B\n",
        "a: !If # why\n  - x\n  - y\nb: &an\n  k: v\nc: &l [1]\nd:\n-\n- a\ne: !Foo\n  k: v\n",
        "? a\n: b\n'a b': 1\n\"c\": 2\n...\n",
        "root:\n    four:\n    - x\n    - y: 1\n      z: [a]\n    # trailing\nnext: 1 # end\n",
    ];
    let noise = [
        "-", ":", " ", "\n", "#", "!", "&", "*", "|", ">", "[", "]", "{", "}", ",", "'", "\"", "?",
        "é", "\t", "  ", "- ", ": ", "!Ref ", "---\n", "...\n", "%", "\r\n",
    ];
    let mut r = Rng(seed(0x0dd_ba11_5eed));
    let mut parsed = 0;
    for base in bases {
        for _ in 0..1500 {
            let mut text = base.to_string();
            for _ in 0..=r.below(3) {
                let mut at = r.below(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if r.below(2) == 0 {
                    text.insert_str(at, noise[r.below(noise.len())]);
                } else {
                    let mut end = (at + 1 + r.below(4)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
            }
            let Ok(doc) = parse(&text) else { continue };
            parsed += 1;
            assert_eq!(emit(&doc, &doc.value), text);
            let mut v = doc.value.clone();
            mutate(&mut r, &mut v);
            let out = emit(&doc, &v);
            match parse(&out) {
                Ok(d) => assert_eq!(d.value, v, "from\n{text}\n---\n{out}"),
                Err(e) => panic!("{e}\nvalue {v}\nfrom\n{text}\n---\n{out}"),
            }
        }
    }
    assert!(parsed > 1000, "{parsed}");
}

#[test]
fn empty_values_in_flow_collections() {
    let doc = parse("a: [!Env, prod]\nb: {Type: String, Key}   # c\n").unwrap();
    assert_eq!(
        doc.value,
        json!({"a": [{"!Env": null}, "prod"], "b": {"Type": "String", "Key": null}})
    );
    let mut v = doc.value.clone();
    v["a"][0]["x"] = json!(1);
    v["b"]["Key"] = json!("x");
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "a: [{\"!Env\": null, x: 1}, prod]\nb: {Type: String, Key: x}   # c\n"
    );
}

#[test]
fn four_space_documents_get_four_space_additions() {
    let text = "Resources:\n    App:\n        Props:\n        - a\n";
    let doc = parse(text).unwrap();
    let mut v = doc.value.clone();
    v["Resources"]["App"]["New"] = json!({"K": ["x", "a#b"]});
    let out = check(&doc, &v);
    assert_eq!(
        out,
        "Resources:\n    App:\n        Props:\n        - a\n        New:\n            K:\n            - x\n            - \"a#b\"\n"
    );
}

#[test]
fn characters_yaml_does_not_allow_are_refused_with_their_position() {
    // Each was read one way by the parser and another once the emitter had written around it
    // (fuzz regressions yaml-nul-in-comment-truncates-reparse, yaml-lone-cr-line-breaks,
    // yaml-second-bom).
    for (text, what) in [
        ("a: 1 # \0\n", "NUL"),
        ("a: \"x\0y\"\n", "NUL"),
        ("a: 1\rb: 2\r", "carriage return"),
        ("a: \"x\u{1}\"\n", "control character"),
        ("a: x\u{7f}\n", "control character"),
        ("a: x\u{9b}\n", "control character"),
        ("a: 1\n\u{feff}b: 2\n", "byte-order mark"),
    ] {
        let e = parse(text).unwrap_err().to_string();
        assert!(e.contains(what), "{text:?}: {e}");
    }
    let e = parse("a: 1\nb: 2 # x\0\n").unwrap_err();
    assert!(e.to_string().contains("line 2, column 9"), "{e}");
    // What YAML allows stays allowed: tabs, CRLF, NEL, a leading BOM, printable Unicode.
    for text in [
        "a: 1\t# tab\r\nb: 2\r\n",
        "a: 1\u{85}",
        "\u{feff}a: 1\n",
        "a: \"\u{e9}\u{1F600}\u{a0}\"\n",
    ] {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

#[test]
fn a_second_byte_order_mark_is_refused() {
    let e = crate::parse_document("\u{feff}\u{feff}a: 1\n").unwrap_err();
    assert!(e.to_string().contains("two byte-order marks"), "{e}");
    crate::parse_document("\u{feff}a: 1\n").unwrap();
}
