//! Registry lookups end to end: the real `kiltx` binary against Debian's `docker-registry`
//! (anonymous, htpasswd Basic, Bearer tokens), moto's ECR API, and images pushed here.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use crate::common::LAUNCHER;
use kiltx_testsupport::hermetic::command as hermetic;
use kiltx_testsupport::{self as ts, Auth, Process, TempDir};
use serde_json::{json, Value};

fn kiltx(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = hermetic(env!("CARGO_BIN_EXE_kiltx"));
    cmd.env_remove("KILTX_TRACER_IMAGE").args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run kiltx")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn ok(o: &Output) -> Value {
    assert!(o.status.success(), "kiltx failed: {}", stderr(o));
    ts::json_of(&o.stdout)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The rules of `kiltx lint --format json` findings.
fn rules_of(o: &Output) -> Vec<String> {
    ts::json_of(&o.stdout)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str().map(String::from))
        .collect()
}

/// A register-task-definition JSON with one container per image (no entryPoint, no command).
fn taskdef(dir: &Path, arch: Option<&str>, images: &[&str]) -> String {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, img)| json!({"name": format!("c{i}"), "image": img}))
        .collect();
    let mut td = json!({"family": "t", "requiresCompatibilities": ["FARGATE"], "containerDefinitions": containers});
    if let Some(a) = arch {
        td["runtimePlatform"] = json!({"cpuArchitecture": a, "operatingSystemFamily": "LINUX"});
    }
    let p = dir.join(format!("td-{}.json", ts::free_port()));
    fs::write(&p, serde_json::to_string_pretty(&td).unwrap()).unwrap();
    p.display().to_string()
}

/// The built-in definition with a sidecar built for both architectures, so that ARM64 tasks are
/// patched (with the built-in one, whose image is declared for X86_64 only, they are skipped).
fn both_architectures(dir: &Path) -> String {
    let text = include_str!("../../kilt-defs/src/definition/default.yaml")
        .replace("architectures: [X86_64]", "architectures: [X86_64, ARM64]");
    assert!(text.contains("architectures: [X86_64, ARM64]"), "{text}");
    let p = dir.join("both-architectures.yaml");
    fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// The argv each container of a patched register JSON runs after the launcher.
fn argvs(out: &Value) -> Vec<Vec<String>> {
    out["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap_or("").starts_with('c'))
        .map(|c| {
            assert_eq!(c["entryPoint"], json!(LAUNCHER), "{c}");
            c["command"]
                .as_array()
                .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        })
        .collect()
}

struct Anon {
    _tmp: TempDir,
    reg: ts::Server,
}

/// An anonymous registry with the test images pushed.
fn anonymous() -> Anon {
    let tmp = TempDir::new("reg-anon");
    let storage = tmp.path().join("storage");
    let reg = ts::registry(&storage, tmp.path(), Auth::Anonymous);
    let h = reg.host();
    let both = Process::new(Some(&["/entry.sh"]), Some(&["serve", "--port", "80"]));
    ts::push_image(&h, "plain", "1", ts::DOCKER_MANIFEST, "amd64", &both);
    ts::push_image(
        &h,
        "oci",
        "1",
        ts::OCI_MANIFEST,
        "amd64",
        &Process::new(Some(&["/oci-entry"]), Some(&["oci-cmd"])),
    );
    ts::push_image(
        &h,
        "ns/cmd-only",
        "1",
        ts::DOCKER_MANIFEST,
        "amd64",
        &Process::new(None, Some(&["sh", "-c", "echo hi"])),
    );
    ts::push_image(
        &h,
        "entry-only",
        "1",
        ts::OCI_MANIFEST,
        "amd64",
        &Process::new(Some(&["/bin/app"]), None),
    );
    ts::push_image(
        &h,
        "neither",
        "1",
        ts::DOCKER_MANIFEST,
        "amd64",
        &Process::new(None, None),
    );
    ts::push_image(&h, "arm-only", "1", ts::DOCKER_MANIFEST, "arm64", &both);
    ts::push_index(
        &h,
        "multi",
        "1",
        ts::OCI_INDEX,
        &[
            (
                "amd64",
                Process::new(Some(&["/amd64-entry"]), Some(&["amd64-cmd"])),
            ),
            (
                "arm64",
                Process::new(Some(&["/arm64-entry"]), Some(&["arm64-cmd"])),
            ),
        ],
    );
    ts::push_index(
        &h,
        "list",
        "1",
        ts::DOCKER_LIST,
        &[
            ("amd64", Process::new(None, Some(&["x86"]))),
            ("arm64", Process::new(None, Some(&["arm"]))),
        ],
    );
    Anon { _tmp: tmp, reg }
}

#[test]
fn manifests_indexes_and_docker_rules_from_an_anonymous_registry() {
    let a = anonymous();
    let h = a.reg.host();
    let img = |r: &str| format!("{h}/{r}");
    let tmp = TempDir::new("reg-anon-td");
    let images = [
        img("plain:1"),
        img("oci:1"),
        img("ns/cmd-only:1"),
        img("entry-only:1"),
        img("multi:1"),
        img("list:1"),
        img("plain:1"), // twice: looked up once
    ];
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let td = taskdef(tmp.path(), None, &refs);
    let out = kiltx(&["patch", &td], &[]);
    let got = argvs(&ok(&out));
    assert_eq!(
        got,
        vec![
            s(&["/entry.sh", "serve", "--port", "80"]),
            s(&["/oci-entry", "oci-cmd"]),
            s(&["sh", "-c", "echo hi"]),
            s(&["/bin/app"]),
            s(&["/amd64-entry", "amd64-cmd"]),
            s(&["x86"]),
            s(&["/entry.sh", "serve", "--port", "80"]),
        ]
    );
    let err = stderr(&out);
    assert!(err.contains("resolved for linux/amd64"), "{err}");

    // An image with neither ENTRYPOINT nor CMD, and a task definition with neither: nothing to run.
    let td = taskdef(tmp.path(), None, &[&img("neither:1")]);
    let out = kiltx(&["patch", &td], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("its image has no ENTRYPOINT or CMD"),
        "{}",
        stderr(&out)
    );

    // ARM64 tasks get the arm64 entries of indexes.
    let td = taskdef(
        tmp.path(),
        Some("ARM64"),
        &[&img("multi:1"), &img("list:1"), &img("arm-only:1")],
    );
    let both = both_architectures(tmp.path());
    let out = kiltx(&["patch", "--definition", &both, &td], &[]);
    assert_eq!(
        argvs(&ok(&out)),
        vec![
            s(&["/arm64-entry", "arm64-cmd"]),
            s(&["arm"]),
            s(&["/entry.sh", "serve", "--port", "80"])
        ]
    );
    assert!(
        stderr(&out).contains("resolved for linux/arm64"),
        "{}",
        stderr(&out)
    );

    // A digest reference is verified and used; tag+digest uses the digest.
    let digest = ts::push_image(
        &h,
        "pinned",
        "1",
        ts::OCI_MANIFEST,
        "amd64",
        &Process::new(Some(&["/pinned"]), None),
    );
    let td = taskdef(
        tmp.path(),
        None,
        &[
            &format!("{h}/pinned@{digest}"),
            &format!("{h}/pinned:nonexistent@{digest}"),
        ],
    );
    assert_eq!(
        argvs(&ok(&kiltx(&["patch", &td], &[]))),
        vec![s(&["/pinned"]), s(&["/pinned"])]
    );

    // image-config prints the --image-config format, per platform.
    let out = kiltx(
        &[
            "image-config",
            &img("multi:1"),
            &img("list:1"),
            "--platform",
            "linux/arm64",
        ],
        &[],
    );
    assert_eq!(
        ok(&out),
        json!({
            img("multi:1"): {"entrypoint": ["/arm64-entry"], "cmd": ["arm64-cmd"]},
            img("list:1"): {"entrypoint": null, "cmd": ["arm"]},
        })
    );
    assert_eq!(
        ok(&kiltx(&["image-config", &img("neither:1")], &[])),
        json!({img("neither:1"): {"entrypoint": null, "cmd": null}})
    );
    // ... and its answer, given back with --image-config --offline, patches the same.
    let cfg = tmp.path().join("images.json");
    fs::write(&cfg, &out.stdout).unwrap();
    let td = taskdef(tmp.path(), Some("ARM64"), &[&img("multi:1")]);
    let out = kiltx(
        &[
            "patch",
            "--offline",
            "--definition",
            &both,
            "--image-config",
            cfg.to_str().unwrap(),
            &td,
        ],
        &[],
    );
    assert_eq!(argvs(&ok(&out)), vec![s(&["/arm64-entry", "arm64-cmd"])]);
}

#[test]
fn registries_on_this_machine_are_never_proxied() {
    // A proxy named by the environment (here one that refuses every connection) is for
    // registries elsewhere; one on loopback is reached directly, as Docker does.
    let a = anonymous();
    let h = a.reg.host();
    let tmp = TempDir::new("reg-proxy-td");
    let td = taskdef(tmp.path(), None, &[&format!("{h}/plain:1")]);
    let closed = format!("http://127.0.0.1:{}", ts::free_port());
    let proxies = [
        ("HTTP_PROXY", closed.as_str()),
        ("HTTPS_PROXY", closed.as_str()),
        ("ALL_PROXY", closed.as_str()),
    ];
    let out = kiltx(&["patch", &td], &proxies);
    assert_eq!(
        argvs(&ok(&out)),
        vec![s(&["/entry.sh", "serve", "--port", "80"])]
    );
}

#[test]
fn registry_failures_are_errors_that_say_what_to_do() {
    let a = anonymous();
    let h = a.reg.host();
    let tmp = TempDir::new("reg-fail-td");

    // A missing tag: 404 from the registry, named with the container, and nothing written.
    let out_file = tmp.path().join("out.json");
    let td = taskdef(
        tmp.path(),
        None,
        &[&format!("{h}/plain:1"), &format!("{h}/plain:missing")],
    );
    let out = kiltx(&["patch", &td, "-o", out_file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "container \"c1\" in task definition needs image {h}/plain:missing (linux/amd64): registry {h} answered 404"
        )),
        "{err}"
    );
    assert!(err.contains("MANIFEST_UNKNOWN"), "{err}");
    assert!(
        err.contains("check that the repository and tag exist"),
        "{err}"
    );
    assert!(!out_file.exists());

    // An image for another platform only.
    let td = taskdef(tmp.path(), Some("ARM64"), &[&format!("{h}/plain:1")]);
    let both = both_architectures(tmp.path());
    let err = stderr(&kiltx(&["patch", "--definition", &both, &td], &[]));
    assert!(
        err.contains("has no linux/arm64 image for it (available: linux/amd64)"),
        "{err}"
    );
    let td = taskdef(tmp.path(), None, &[&format!("{h}/arm-only:1")]);
    let err = stderr(&kiltx(&["patch", &td], &[]));
    assert!(err.contains("has no linux/amd64 image"), "{err}");

    // A malformed reference names the container.
    let td = taskdef(tmp.path(), None, &["Bad/Image::x"]);
    let out = kiltx(&["patch", &td], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid image reference \"Bad/Image::x\""),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("c0"), "{}", stderr(&out));

    // Unreachable, TLS to a plain-HTTP server, a server that never answers, the deadline.
    let closed = ts::free_port();
    let td = taskdef(tmp.path(), None, &[&format!("127.0.0.1:{closed}/x:1")]);
    let err = stderr(&kiltx(&["patch", &td], &[]));
    assert!(err.contains("could not be reached"), "{err}");
    let td = taskdef(tmp.path(), None, &["registry.example.test/app:1"]);
    let endpoint = format!("registry.example.test=https://{h}");
    let err = stderr(&kiltx(
        &["patch", &td, "--registry-endpoint", &endpoint],
        &[],
    ));
    assert!(
        err.contains("registry registry.example.test could not be reached"),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("tls")
            || err.contains("certificate")
            || err.contains("InvalidContentType")
            || err.contains("corrupt"),
        "{err}"
    );
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_host = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let td = taskdef(tmp.path(), None, &[&format!("{silent_host}/x:1")]);
    let start = std::time::Instant::now();
    let err = stderr(&kiltx(&["patch", &td, "--registry-timeout", "1"], &[]));
    assert!(
        err.contains("did not answer") && err.contains("within 1s"),
        "{err}"
    );
    let err = stderr(&kiltx(
        &[
            "patch",
            &td,
            "--registry-deadline",
            "1",
            "--registry-timeout",
            "30",
        ],
        &[],
    ));
    assert!(
        err.contains("did not finish within the 1s deadline"),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 15);

    // --offline never touches the network: the unknown image is the engine's error.
    let td = taskdef(tmp.path(), None, &[&format!("{silent_host}/x:1")]);
    let start = std::time::Instant::now();
    let out = kiltx(&["patch", "--offline", &td], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("are not known"), "{}", stderr(&out));
    assert!(start.elapsed().as_secs() < 5);
    drop(silent);

    // Plain HTTP only for loopback or --insecure-registry: a non-loopback name is tried over HTTPS.
    let td = taskdef(tmp.path(), None, &["registry.invalid:5000/app:1"]);
    let err = stderr(&kiltx(&["patch", &td, "--registry-timeout", "3"], &[]));
    assert!(
        err.contains("https://registry.invalid:5000/v2/app/manifests/1"),
        "{err}"
    );
    let err = stderr(&kiltx(
        &[
            "patch",
            &td,
            "--insecure-registry",
            "registry.invalid:5000",
            "--registry-timeout",
            "3",
        ],
        &[],
    ));
    assert!(
        err.contains("http://registry.invalid:5000/v2/app/manifests/1"),
        "{err}"
    );
}

#[test]
fn basic_and_bearer_authentication() {
    let tmp = TempDir::new("reg-auth");
    let storage = tmp.path().join("storage");
    let anon = ts::registry(&storage, tmp.path(), Auth::Anonymous);
    let basic = ts::registry(&storage, tmp.path(), Auth::Basic(&[("alice", "s3cret")]));
    let tokens = ts::TokenService::start(tmp.path(), "bob", "hunter2");
    let bearer = ts::registry(&storage, tmp.path(), Auth::Bearer(&tokens));
    ts::push_image(
        &anon.host(),
        "team/app",
        "2",
        ts::OCI_MANIFEST,
        "amd64",
        &Process::new(Some(&["/app"]), Some(&["--serve"])),
    );

    let config = tmp.path().join("config.json");
    let b64 = |s: &str| {
        // base64 without a dependency: through the tool every test machine has.
        let out = hermetic("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(s.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    fs::write(
        &config,
        json!({"auths": {
            basic.host(): {"auth": b64("alice:s3cret")},
            bearer.host(): {"username": "bob", "password": "hunter2"},
        }})
        .to_string(),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let want = vec![s(&["/app", "--serve"])];

    for reg in [&basic, &bearer] {
        let td = taskdef(tmp.path(), None, &[&format!("{}/team/app:2", reg.host())]);
        // Without credentials: 401, and the message says how to give them.
        let out = kiltx(&["patch", &td], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("answered 401"), "{err}");
        assert!(err.contains("--registry-auth FILE"), "{err}");
        // With a config.json: --registry-auth, REGISTRY_AUTH_FILE, DOCKER_CONFIG, DOCKER_AUTH_CONFIG.
        assert_eq!(
            argvs(&ok(&kiltx(&["patch", &td, "--registry-auth", cfg], &[]))),
            want
        );
        assert_eq!(
            argvs(&ok(&kiltx(&["patch", &td], &[("REGISTRY_AUTH_FILE", cfg)]))),
            want
        );
        assert_eq!(
            argvs(&ok(&kiltx(
                &["patch", &td],
                &[("DOCKER_CONFIG", tmp.path().to_str().unwrap())]
            ))),
            want
        );
        let text = fs::read_to_string(&config).unwrap();
        assert_eq!(
            argvs(&ok(&kiltx(
                &["patch", &td],
                &[("DOCKER_AUTH_CONFIG", &text)]
            ))),
            want
        );
    }
    assert!(tokens.requests() >= 5, "the token service was used");

    // Wrong credentials are refused, and said to be.
    let wrong = tmp.path().join("wrong.json");
    fs::write(
        &wrong,
        json!({"auths": {basic.host(): {"username": "alice", "password": "nope"}}}).to_string(),
    )
    .unwrap();
    let td = taskdef(tmp.path(), None, &[&format!("{}/team/app:2", basic.host())]);
    let err = stderr(&kiltx(
        &["patch", &td, "--registry-auth", wrong.to_str().unwrap()],
        &[],
    ));
    assert!(
        err.contains("answered 401") && err.contains("credentials given were refused"),
        "{err}"
    );
}

#[test]
fn ecr_images_through_moto_and_the_registry() {
    let tmp = TempDir::new("reg-ecr");
    let storage = tmp.path().join("storage");
    let anon = ts::registry(&storage, tmp.path(), Auth::Anonymous);
    // moto's GetAuthorizationToken answers AWS:<account>-auth-token: one registry per account
    // accepts exactly that, so an image is only readable with its own account's token.
    let acct_a = ts::registry(
        &storage,
        tmp.path(),
        Auth::Basic(&[("AWS", "111111111111-auth-token")]),
    );
    let acct_b = ts::registry(
        &storage,
        tmp.path(),
        Auth::Basic(&[("AWS", "222222222222-auth-token")]),
    );
    let moto = ts::moto(tmp.path());
    ts::push_image(
        &anon.host(),
        "app",
        "1",
        ts::DOCKER_MANIFEST,
        "amd64",
        &Process::new(Some(&["/srv/app"]), Some(&["run"])),
    );
    ts::push_image(
        &anon.host(),
        "shared/base",
        "3",
        ts::OCI_MANIFEST,
        "amd64",
        &Process::new(None, Some(&["base"])),
    );

    let a = "111111111111.dkr.ecr.eu-west-1.amazonaws.com";
    let b = "222222222222.dkr.ecr.us-east-2.amazonaws.com";
    let env = [
        ("AWS_ENDPOINT_URL_ECR", moto.url()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "eu-west-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let tmpl = json!({
        "Parameters": {"Tag": {"Type": "String", "Default": "1"}},
        "Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [
                {"Name": "app", "Image": {"Fn::Sub": format!("{a}/app:${{Tag}}")}},
                {"Name": "cross", "Image": format!("{b}/shared/base:3")},
            ]}}}
    });
    let file = tmp.path().join("template.json");
    fs::write(&file, serde_json::to_string_pretty(&tmpl).unwrap()).unwrap();
    let ea = format!("{a}={}", acct_a.url());
    let eb = format!("{b}={}", acct_b.url());
    let args = [
        "patch",
        file.to_str().unwrap(),
        "--registry-endpoint",
        &ea,
        "--registry-endpoint",
        &eb,
    ];
    let out = ok(&kiltx(&args, &env));
    let c = &out["Resources"]["Task"]["Properties"]["ContainerDefinitions"];
    assert_eq!(c[0]["Command"], json!(["/srv/app", "run"]));
    assert_eq!(c[1]["Command"], json!(["base"]));

    // A parameter given on the command line wins over its Default.
    ts::push_image(
        &anon.host(),
        "app",
        "2",
        ts::DOCKER_MANIFEST,
        "amd64",
        &Process::new(Some(&["/srv/app2"]), None),
    );
    let mut args2 = args.to_vec();
    args2.extend(["--parameter", "Tag=2"]);
    let out = ok(&kiltx(&args2, &env));
    assert_eq!(
        out["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["Command"],
        json!(["/srv/app2"])
    );

    // Another account's registry behind account A's endpoint: kiltx asks for account C's token,
    // which A's registry refuses; the message says what to check on the AWS side.
    let c = "333333333333.dkr.ecr.eu-west-1.amazonaws.com";
    let td = tmp.path().join("c.json");
    fs::write(
        &td,
        json!({"family": "c", "requiresCompatibilities": ["FARGATE"],
               "containerDefinitions": [{"name": "x", "image": format!("{c}/app:1")}]})
        .to_string(),
    )
    .unwrap();
    let ec = format!("{c}={}", acct_a.url());
    let out = kiltx(
        &["patch", td.to_str().unwrap(), "--registry-endpoint", &ec],
        &env,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("registry {c} answered 401")), "{err}");
    assert!(
        err.contains(
            "the ECR token of account 333333333333 (eu-west-1) does not allow pulling app"
        ),
        "{err}"
    );

    // Without AWS credentials: the ECR error names the account and region, and what to check.
    let no_creds: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"))
        .cloned()
        .collect();
    let out = kiltx(&args, &no_creds);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("ECR GetAuthorizationToken for registry 111111111111.dkr.ecr.eu-west-1.amazonaws.com (account 111111111111, region eu-west-1) failed"), "{err}");
    assert!(err.contains("container \"app\""), "{err}");
}

/// agent-kilt's registry-hint cases, with `nginx` served by a local registry standing in for
/// Docker Hub: the same argv as agent-kilt's outputs.
#[test]
fn peer_hints_fixtures_match_agent_kilt() {
    let tmp = TempDir::new("reg-peer");
    let reg = ts::registry(&tmp.path().join("storage"), tmp.path(), Auth::Anonymous);
    ts::push_image(
        &reg.host(),
        "library/nginx",
        "latest",
        ts::DOCKER_MANIFEST,
        "amd64",
        &Process::new(
            Some(&["/docker-entrypoint.sh"]),
            Some(&["nginx", "-g", "daemon off;"]),
        ),
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/agent-kilt/fixtures/patching");
    assert!(
        dir.is_dir(),
        "the peer corpus is missing at {}",
        dir.display()
    );
    let endpoint = format!("docker.io={}", reg.url());
    for case in [
        "hints_no_overrides",
        "hints_override_command",
        "hints_override_entrypoint",
        "hints_override_entrypoint_command",
    ] {
        let input = dir.join(format!("{case}.json"));
        let expected = ts::json_of(&fs::read(dir.join(format!("{case}.patched.json"))).unwrap());
        let out = ok(&kiltx(
            &[
                "patch",
                input.to_str().unwrap(),
                "--registry-endpoint",
                &endpoint,
            ],
            &[],
        ));
        let theirs = &expected["Resources"]["taskdef"]["Properties"]["ContainerDefinitions"];
        let ours = &out["Resources"]["taskdef"]["Properties"]["ContainerDefinitions"];
        let app = |cs: &Value| {
            cs.as_array()
                .unwrap()
                .iter()
                .find(|c| c["Name"] == "app")
                .cloned()
                .unwrap()
        };
        // agent-kilt's launcher is `/kilt/run --`; the wrapped argv follows it in Command.
        assert_eq!(app(ours)["Command"], app(theirs)["Command"], "{case}");
        assert_eq!(app(ours)["EntryPoint"], json!(LAUNCHER), "{case}");
    }
}

/// `kiltx lint` asks registries too: an image found there is known (no image-config-unknown
/// finding); one that is not stays unknown, reported as a finding, with the registry's answer
/// on stderr.
#[test]
fn lint_looks_images_up() {
    let tmp = TempDir::new("lint-lookups");
    let reg = ts::registry(&tmp.path().join("storage"), tmp.path(), Auth::Anonymous);
    let h = reg.host();
    ts::push_image(
        &h,
        "svc",
        "1",
        ts::OCI_MANIFEST,
        "amd64",
        &Process::new(Some(&["/svc"]), None),
    );
    let found = taskdef(tmp.path(), None, &[&format!("{h}/svc:1")]);
    let o = kiltx(&["lint", "--format", "json", &found], &[]);
    let rules = rules_of(&o);
    assert!(
        rules.contains(&"KX001".to_string()),
        "not instrumented: {rules:?} {}",
        stderr(&o)
    );
    assert!(
        !rules.contains(&"KX010".to_string()),
        "the image was found: {rules:?} {}",
        stderr(&o)
    );

    let missing = taskdef(tmp.path(), None, &[&format!("{h}/svc:nope")]);
    let o = kiltx(&["lint", "--format", "json", &missing], &[]);
    let rules = rules_of(&o);
    assert!(
        rules.contains(&"KX010".to_string()),
        "unknown after lookup: {rules:?}"
    );
    assert!(
        stderr(&o).contains("svc:nope") && stderr(&o).contains("404"),
        "{}",
        stderr(&o)
    );
    // Offline, the registry is not asked.
    let o = kiltx(&["lint", "--offline", "--format", "json", &found], &[]);
    let rules = rules_of(&o);
    assert!(rules.contains(&"KX010".to_string()), "offline: {rules:?}");
}
