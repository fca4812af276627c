//! `lambda-bench`: the macro's `bootstrap` against a local Lambda Runtime API.
//!
//! Usage: `cargo build --release && cargo run --release -p kiltx-bench --bin lambda-bench`
//!
//! Prints the cold start (process start to the first answer posted, for a small template), the
//! per-invocation time of a ~1 MB template (compact JSON, as CloudFormation sends it; no
//! registry lookups) on a warm function next to `kiltx patch` of the same template (the CLI
//! process, and the library call alone), and the function's peak RSS.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kiltx_bench::runtime_api::RuntimeApi;
use serde_json::{json, Value};

fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let p = exe.parent().expect("dir").join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --release` first",
        p.display()
    );
    p
}

fn event(id: &str, fragment: &Value) -> Value {
    json!({"region": "eu-west-1", "accountId": "123456789012", "transformId": "x::Kiltx",
           "requestId": id, "fragment": fragment, "params": {}, "templateParameterValues": {}})
}

fn spawn(api: &RuntimeApi) -> std::process::Child {
    kiltx_testsupport::hermetic::command(sibling("bootstrap"))
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "kiltx")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bootstrap")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let small = json!({"Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "RequiresCompatibilities": ["FARGATE"],
        "ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}}}});
    // Cold start.
    let mut cold = Vec::new();
    for i in 0..7 {
        let api = RuntimeApi::start();
        let id = format!("cold-{i}");
        api.push(&id, &event(&id, &small));
        let t0 = Instant::now();
        let mut child = spawn(&api);
        api.answers(&[&id], Duration::from_secs(30));
        cold.push(api.answered_at(&id).expect("answered").duration_since(t0));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Warm invocations of a ~1 MB template.
    let big = kiltx_bench::cloudformation_template(200, 2_400_000);
    let big_text = big.to_string();
    let api = RuntimeApi::start();
    let mut child = spawn(&api);
    let warm_ids: Vec<String> = (0..11).map(|i| format!("warm-{i}")).collect();
    api.push("prime", &event("prime", &small));
    api.answers(&["prime"], Duration::from_secs(30));
    let mut warm = Vec::new();
    for id in &warm_ids {
        api.push(id, &event(id, &big));
        let a = api.answers(&[id], Duration::from_secs(60));
        assert_eq!(
            a[0].1["status"],
            "success",
            "{:?}",
            a[0].1.get("errorMessage")
        );
        warm.push(api.service_time(id).expect("timed"));
    }
    let hwm = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    // The CLI on the same template.
    let dir = std::env::temp_dir().join(format!("kiltx-lambda-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("template.json");
    std::fs::write(&file, &big_text).expect("write");
    let mut cli = Vec::new();
    for _ in 0..11 {
        let t0 = Instant::now();
        let st = kiltx_testsupport::hermetic::command(sibling("kiltx"))
            .args(["patch", "--quiet"])
            .arg(&file)
            .stdout(Stdio::null())
            .status()
            .expect("kiltx");
        assert!(st.success());
        cli.push(t0.elapsed());
    }
    let def = kilt_defs::definition::Definition::builtin();
    let lib: Vec<Duration> = (0..11)
        .map(|_| {
            let t0 = Instant::now();
            let out = kilt_defs::document::patch_document(
                &big_text,
                None,
                &def,
                &Default::default(),
                &Default::default(),
            );
            std::hint::black_box(out.expect("patch"));
            t0.elapsed()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let (cold, warm, cli, lib) = (median(cold), median(warm), median(cli), median(lib));
    println!("kiltx macro benchmark (bootstrap against a local Runtime API; medians)");
    println!(
        "cold start (spawn to first answer, small template): {:>8.2} ms   target <= 50 ms",
        ms(cold)
    );
    println!(
        "warm invocation, {:.0} KB template:               {:>8.2} ms",
        big_text.len() as f64 / 1000.0,
        ms(warm)
    );
    println!("kiltx patch, same template (CLI process):          {:>8.2} ms   warm / CLI = {:.2}x (target <= 2x)", ms(cli), ms(warm) / ms(cli));
    println!(
        "kiltx patch, same template (library call):         {:>8.2} ms   warm / library = {:.2}x",
        ms(lib),
        ms(warm) / ms(lib)
    );
    println!(
        "bootstrap peak RSS:                                {:>8.1} MiB  target <= 64 MiB",
        hwm as f64 / 1024.0
    );
}
