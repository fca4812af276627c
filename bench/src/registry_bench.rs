//! `registry-bench`: how many HTTP requests, and how much wall time, resolving images takes.
//!
//! Usage: `cargo run --release -p kiltx-bench --bin registry-bench [-- --runs 7 --latency-ms 10]`
//!
//! Starts Debian's `docker-registry` on 127.0.0.1, pushes 10 images (4 multi-platform OCI
//! indexes, 3 Docker v2 manifests, 3 OCI manifests), and generates a CloudFormation template
//! with 50 containers (5 task definitions of 10) over those 10 images, none naming its
//! entryPoint. Then prints:
//! - the time of one round trip to the registry (`GET /v2/` on a fresh connection, median);
//! - each image looked up alone with a fresh client (median and slowest);
//! - the whole run (needed_images → resolve_all → patch_document) with a fresh client: its
//!   wall time (median over runs), its HTTP requests, and whether any URL was requested twice.
//!
//! All of it twice: against the registry directly (loopback: a round trip is mostly the
//! server's CPU time, which concurrency cannot hide on a busy machine), and through a proxy
//! adding `--latency-ms` each way (a network, where it can).
//!
//! Targets (issue 3): at most 3 requests per unique image, none repeated; wall time within 3
//! round trips of the slowest single-image lookup.

use std::time::{Duration, Instant};

use kilt_defs::definition::Definition;
use kilt_defs::document::{needed_images, patch_document};
use kilt_defs::image::ImageConfigs;
use kilt_defs::patch::Options as PatchOptions;
use kiltx_images::{Lookup, Options, Registries};
use kiltx_testsupport::{self as ts, Auth, Process, TempDir};
use serde_json::{json, Value};

const IMAGES: usize = 10;
const CONTAINERS: usize = 50;
const PER_TASK: usize = 10;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn template(images: &[String]) -> String {
    let mut resources = serde_json::Map::new();
    for t in 0..CONTAINERS / PER_TASK {
        let containers: Vec<Value> = (0..PER_TASK)
            .map(|i| {
                let n = t * PER_TASK + i;
                json!({"Name": format!("c{n}"), "Image": images[(n * 7) % images.len()], "Essential": true})
            })
            .collect();
        resources.insert(
            format!("Task{t}"),
            json!({"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "RequiresCompatibilities": ["FARGATE"], "Cpu": "256", "Memory": "512",
                "ContainerDefinitions": containers}}),
        );
    }
    serde_json::to_string_pretty(&json!({"Resources": resources})).expect("template")
}

struct Run {
    wall: Duration,
    resolve: Duration,
    requests: Vec<String>,
}

fn full_run(text: &str, concurrency: usize) -> Run {
    let def = Definition::builtin();
    let opts = PatchOptions::default();
    let start = Instant::now();
    let registries = Registries::new(Options::default()).expect("client");
    let needs = needed_images(text, None, &def, &opts, &ImageConfigs::new()).expect("needs");
    let lookups: Vec<Lookup> = needs
        .iter()
        .map(|n| Lookup {
            image: n.image.clone(),
            platform: n.platform.clone(),
        })
        .collect();
    let resolve_start = Instant::now();
    let answers = kiltx_images::resolve_all_blocking(
        &registries,
        &lookups,
        concurrency,
        Duration::from_secs(60),
    );
    let resolve = resolve_start.elapsed();
    let mut images = ImageConfigs::new();
    for (l, a) in lookups.iter().zip(answers) {
        images.insert_for(&l.image, &l.platform, a.expect("lookup").config);
    }
    let patched = patch_document(text, None, &def, &opts, &images).expect("patch");
    let wall = start.elapsed();
    assert!(patched.text.len() > text.len());
    Run {
        wall,
        resolve,
        requests: registries.request_log(),
    }
}

fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let latency_ms: u64 = std::env::args()
        .skip_while(|a| a != "--latency-ms")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let tmp = TempDir::new("registry-bench");
    let reg = ts::registry(&tmp.path().join("storage"), tmp.path(), Auth::Anonymous);
    let h = reg.host();
    println!("registry-bench: {CONTAINERS} containers over {IMAGES} unique images (4 OCI indexes, 3 Docker v2, 3 OCI manifests), local docker-registry, {runs} runs");
    let mut repos = Vec::new();
    for i in 0..IMAGES {
        let repo = format!("bench/app{i}");
        let p = Process::new(Some(&["/entry", &i.to_string()]), Some(&["serve"]));
        match i % 10 {
            0..=3 => {
                ts::push_index(
                    &h,
                    &repo,
                    "1",
                    ts::OCI_INDEX,
                    &[("amd64", p.clone()), ("arm64", p)],
                );
            }
            4..=6 => {
                ts::push_image(&h, &repo, "1", ts::DOCKER_MANIFEST, "amd64", &p);
            }
            _ => {
                ts::push_image(&h, &repo, "1", ts::OCI_MANIFEST, "amd64", &p);
            }
        }
        repos.push(repo);
    }
    measure("direct (loopback)", &h, &repos, runs);
    let proxy = ts::latency_proxy(&h, Duration::from_millis(latency_ms));
    measure(
        &format!(
            "through a {latency_ms} ms one-way latency proxy (round trip {} ms)",
            2 * latency_ms
        ),
        &format!("127.0.0.1:{proxy}"),
        &repos,
        runs,
    );
}

fn measure(label: &str, h: &str, repos: &[String], runs: usize) {
    let images: Vec<String> = repos.iter().map(|r| format!("{h}/{r}:1")).collect();
    let text = template(&images);
    println!("{label}:");

    // One round trip: GET /v2/ on a fresh connection.
    let rtts: Vec<Duration> = (0..31)
        .map(|_| {
            let s = Instant::now();
            let r = ts::http("GET", h, "/v2/", &[], b"");
            assert_eq!(r.status, 200);
            s.elapsed()
        })
        .collect();
    let rtt = median(rtts);

    // Each image alone, with a fresh client (its connection included), median of `runs`.
    let mut singles = Vec::new();
    for img in &images {
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let s = Instant::now();
                let reg = Registries::new(Options::default()).expect("client");
                let a = kiltx_images::resolve_all_blocking(
                    &reg,
                    &[Lookup {
                        image: img.clone(),
                        platform: "linux/amd64".into(),
                    }],
                    1,
                    Duration::from_secs(60),
                );
                a[0].as_ref().expect("lookup");
                s.elapsed()
            })
            .collect();
        singles.push(median(times));
    }
    let slowest = *singles.iter().max().expect("images");
    let single_median = median(singles.clone());

    let _warm = full_run(&text, kiltx_images::DEFAULT_CONCURRENCY);
    let all: Vec<Run> = (0..runs)
        .map(|_| full_run(&text, kiltx_images::DEFAULT_CONCURRENCY))
        .collect();
    let wall = median(all.iter().map(|r| r.wall).collect());
    let resolve = median(all.iter().map(|r| r.resolve).collect());
    let serial: Vec<Run> = (0..runs).map(|_| full_run(&text, 1)).collect();
    let serial_wall = median(serial.iter().map(|r| r.wall).collect());
    let requests = &all[0].requests;
    let mut unique = requests.clone();
    unique.sort();
    unique.dedup();
    let repeated = requests.len() - unique.len();

    println!("  one round trip (GET /v2/, fresh connection): {}", ms(rtt));
    println!(
        "  one image alone (fresh client):               median {}, slowest {}",
        ms(single_median),
        ms(slowest)
    );
    println!(
        "  whole run (needs + lookups + patch):          median {} = slowest single + {:.1} round trips",
        ms(wall),
        (wall.as_secs_f64() - slowest.as_secs_f64()) / rtt.as_secs_f64()
    );
    println!(
        "    of which registry lookups:                  median {}",
        ms(resolve)
    );
    println!(
        "  the same, one lookup at a time:               median {}",
        ms(serial_wall)
    );
    println!(
        "  HTTP requests: {} for {IMAGES} images ({:.1} per image; target <= 3), repeated: {repeated} (target 0)",
        requests.len(),
        requests.len() as f64 / IMAGES as f64
    );
    let within = wall <= slowest + 3 * rtt;
    println!(
        "  targets: requests {} ; wall time within 3 round trips of the slowest single lookup: {}",
        if requests.len() <= 3 * IMAGES && repeated == 0 {
            "met"
        } else {
            "MISSED"
        },
        if within { "met" } else { "MISSED" }
    );
}
