//! Show what each step makes of one input (same layout as the fuzz target: selector byte, then
//! text): `cargo run --manifest-path fuzz/Cargo.toml --example show -- FILE`, or `-- --text TEXT`
//! (selector 0, auto-detect; `--sel N` picks another).
use kilt_defs::definition::Definition;
use kilt_defs::patch::{self, Options};
use kilt_defs::shape::Shape;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sel = 0u8;
    let mut data: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--sel" => {
                sel = args[i + 1].parse().expect("--sel N");
                i += 1;
            }
            "--text" => {
                let mut d = vec![sel];
                d.extend(args[i + 1].as_bytes());
                data = Some(d);
                i += 1;
            }
            f => data = Some(std::fs::read(f).expect("readable file")),
        }
        i += 1;
    }
    let data = data.expect("FILE or --text TEXT");
    let (sel, rest) = data.split_first().expect("non-empty input");
    let text = std::str::from_utf8(rest).expect("UTF-8");
    println!("selector {sel:#04x}; text {text:?}");
    let doc = match kilt_defs::parse_document(text) {
        Ok(d) => d,
        Err(e) => return println!("parse error: {e}"),
    };
    println!(
        "value: {}",
        serde_json::to_string(&doc.value).unwrap_or_default()
    );
    let shape = match (sel & 7) % 5 {
        0 => Shape::detect(&doc.value),
        1 => Ok(Shape::CloudFormation),
        2 => Ok(Shape::Register),
        3 => Ok(Shape::Describe),
        _ => Ok(Shape::Containers),
    };
    println!("shape: {shape:?}");
    let Ok(shape) = shape else { return };
    let mut v = doc.value.clone();
    let opts = Options {
        opt_in: sel & 8 != 0,
        include_ec2: sel & 16 != 0,
        ..Options::default()
    };
    match patch::patch(
        &mut v,
        shape,
        &Definition::builtin(),
        &opts,
        &kilt_defs_fuzz::image_configs(),
    ) {
        Ok(r) => println!("report: {r:?}"),
        Err(e) => return println!("patch error: {}", e.locate(&doc)),
    }
    println!("patched: {}", serde_json::to_string(&v).unwrap_or_default());
    let out = kilt_defs::emit_document(&doc, &v);
    println!("--- emitted ---\n{out}---");
    match kilt_defs::parse_document(&out) {
        Ok(d) => println!(
            "reparsed: {}",
            serde_json::to_string(&d.value).unwrap_or_default()
        ),
        Err(e) => println!("reparse error: {e}"),
    }
}
