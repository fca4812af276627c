//! The product, end to end: build the sidecar image from the release tracer, push it and an
//! application image (ENTRYPOINT/CMD only in the image) to Debian's docker-registry on
//! 127.0.0.1, patch a task definition (register JSON and CloudFormation) with registry lookup,
//! run the patched and the unpatched task with podman as Fargate would, and compare.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kiltx_e2e::podman::{Podman, TaskRun};
use kiltx_e2e::task::Task;
use kiltx_e2e::{busybox_rootfs, oci_image, push, repo_root, workspace_binary, TempDir};
use kiltx_testsupport::hermetic::command as hermetic;
use kiltx_testsupport::{registry, Auth};
use serde_json::{json, Value};

/// The demo application. Its ENTRYPOINT/CMD exist only in its image, so patching it needs the
/// registry. It execs, creates, renames and reads files, forks, with APP_MODE=attack runs a
/// package manager (a stub `apk`), and with APP_MODE=wait waits for SIGTERM (exit 42);
/// otherwise it exits 3.
const APP: &str = r#"#!/bin/sh
echo "app: args: $*"
echo "app: greeting: $GREETING"
mkdir -p /tmp/work
echo "some data" > /tmp/work/file.txt
mv /tmp/work/file.txt /tmp/work/renamed.txt
cat /tmp/work/renamed.txt
ls /tmp/work
/bin/echo "app: from a child process"
echo "app: a line on stderr" >&2
if [ "$APP_MODE" = attack ]; then
    apk add nmap
fi
if [ "$APP_MODE" = wait ]; then
    trap 'echo "app: got SIGTERM"; exit 42' TERM
    echo "app: waiting"
    while true; do sleep 0.2; done
fi
exit 3
"#;

const APP_ENTRYPOINT: &[&str] = &["/bin/sh", "/app/main.sh"];
const APP_CMD: &[&str] = &["hello", "world"];
const TIMEOUT: Duration = Duration::from_secs(90);

fn register_json(app_image: &str, mode: &str) -> Value {
    json!({
        "family": "demo",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app",
            "image": app_image,
            "essential": true,
            "environment": [
                {"name": "GREETING", "value": "hi there"},
                {"name": "APP_MODE", "value": mode}
            ]
        }]
    })
}

fn cloudformation(app_image: &str) -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "AppTask": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "demo",
                    "NetworkMode": "awsvpc",
                    "RequiresCompatibilities": ["FARGATE"],
                    "Cpu": "256",
                    "Memory": "512",
                    "ContainerDefinitions": [{
                        "Name": "app",
                        "Image": app_image,
                        "Essential": true,
                        "Environment": [
                            {"Name": "GREETING", "Value": "hi there"},
                            {"Name": "APP_MODE", "Value": "exit"}
                        ]
                    }]
                }
            }
        }
    })
}

/// The `kiltx` binary, free of the environment that would change what it does here: registry
/// lookups on (no KILTX_OFFLINE), the built-in tracer image (no KILTX_TRACER_IMAGE), no
/// proxy, no credentials (`kiltx_testsupport::hermetic`).
fn kiltx() -> Command {
    hermetic(workspace_binary("kiltx"))
}

/// The built-in definition with the sidecar also writing every raw event (`--raw-events`), for
/// the checks on the events themselves; the built-in one writes only alerts.
fn with_raw_events(definition: &str) -> String {
    let line = definition
        .lines()
        .find(|l| l.trim() == "- default")
        .unwrap_or_else(|| {
            panic!("the sidecar's --rules default is where the test expects it:\n{definition}")
        });
    let indent = &line[..line.len() - line.trim_start().len()];
    definition.replacen(
        &format!("{line}\n"),
        &format!("{line}\n{indent}- --raw-events\n"),
        1,
    )
}

/// `kiltx patch FILE --tracer-image IMAGE [extra]` with registry lookups (not offline);
/// the patched document. Without a `--definition` in `extra`, the built-in definition with raw
/// events (`raw-events.yaml` in `dir`).
fn patch(dir: &Path, name: &str, input: &Value, tracer_image: &str, extra: &[&str]) -> Value {
    let raw = dir.join("raw-events.yaml");
    let raw = raw.to_str().unwrap();
    let extra: Vec<&str> = if extra.contains(&"--definition") {
        extra.to_vec()
    } else {
        [extra, &["--definition", raw]].concat()
    };
    let extra = &extra[..];
    let file = dir.join(name);
    fs::write(&file, serde_json::to_vec_pretty(input).unwrap()).unwrap();
    let out = dir.join(format!("patched-{name}"));
    let r = kiltx()
        .arg("patch")
        .arg(&file)
        .args(["--tracer-image", tracer_image, "-o"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "kiltx patch {name} failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    serde_json::from_slice(&fs::read(&out).unwrap()).unwrap()
}

fn events(run: &TaskRun) -> Vec<Value> {
    run.container("kiltx-tracer")
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("sidecar printed a line that is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The application's stderr without the tracer's own lines.
fn app_stderr(run: &TaskRun) -> String {
    run.container("app")
        .stderr
        .lines()
        .filter(|l| !l.starts_with("kiltx-tracer:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The first event `pred` accepts.
fn find<'a>(events: &'a [Value], what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    events.iter().find(|e| pred(e)).unwrap_or_else(|| {
        panic!(
            "no event with {what} among the sidecar's {} events:\n{}",
            events.len(),
            events
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// The first event of `syscall` whose args `pred` accepts.
fn find_syscall<'a>(
    events: &'a [Value],
    syscall: &str,
    pred: impl Fn(&Value) -> bool,
) -> &'a Value {
    find(events, syscall, |e| {
        e["syscall"] == syscall && pred(&e["args"])
    })
}

/// The sidecar saw the application's exec and file events, attributed to it.
fn assert_app_events(run: &TaskRun) {
    let ev = events(run);
    let exec = find_syscall(&ev, "execve", |a| a["path"] == "/bin/sh");
    assert_eq!(
        exec["args"]["argv"],
        json!(["/bin/sh", "/app/main.sh", "hello", "world"]),
        "the application's own command line, from the image: {exec}"
    );
    find_syscall(&ev, "execve", |a| a["path"] == "/bin/echo");
    let create = find_syscall(&ev, "openat", |a| a["abspath"] == "/tmp/work/file.txt");
    assert!(
        create["args"]["flags"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("O_CREAT"))),
        "{create}"
    );
    assert!(
        create["result"].as_i64().is_some_and(|fd| fd >= 0),
        "{create}"
    );
    find(&ev, "a rename to /tmp/work/renamed.txt", |e| {
        e["syscall"]
            .as_str()
            .is_some_and(|s| s.starts_with("rename"))
            && e["args"]["newabspath"] == "/tmp/work/renamed.txt"
    });
    for e in ev.iter().filter(|e| e["type"] == "syscall") {
        assert_eq!(
            e["container"], "app",
            "every event names its container: {e}"
        );
    }
    let stats: Vec<&Value> = ev
        .iter()
        .filter(|e| e["type"] == "stats" && e["args"]["final"] == true)
        .collect();
    assert_eq!(stats.len(), 1, "one final stats event");
    assert_eq!(
        stats[0]["args"]["dropped"], 0,
        "no event dropped: {}",
        stats[0]
    );
}

#[test]
fn a_patched_task_runs_as_on_fargate_and_reports_to_the_sidecar() {
    let scratch = TempDir::new("e2e");
    let dir = scratch.path();
    let reg = registry(&dir.join("registry"), dir, Auth::Anonymous);
    let host = reg.host();

    // 1. the images: the sidecar, built by the script the README documents, and the app
    let layout = dir.join("oci");
    let tag = kiltx_e2e::build_tracer_image(&layout);
    let tracer_image = format!("{host}/kiltx/kiltx-tracer:{tag}");
    push(&layout, &tag, &tracer_image);
    let rootfs = dir.join("app-rootfs");
    busybox_rootfs(
        &rootfs,
        &[
            ("app/main.sh", APP, 0o755),
            ("usr/local/bin/apk", "#!/bin/sh\necho \"apk: $*\"\n", 0o755),
        ],
    );
    oci_image(&rootfs, &layout, "app", Some(APP_ENTRYPOINT), Some(APP_CMD));
    let app_image = format!("{host}/demo/app:1");
    push(&layout, "app", &app_image);

    // The built-in definition injects the image the build script names.
    let show = kiltx().args(["definition", "show"]).output().unwrap();
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    let builtin = String::from_utf8(show.stdout).unwrap();
    let builtin_file = dir.join("builtin.yaml");
    fs::write(&builtin_file, &builtin).unwrap();
    let definition = with_raw_events(&builtin);
    fs::write(dir.join("raw-events.yaml"), &definition).unwrap();
    assert!(
        definition.contains(&format!("\n  image: kiltx/kiltx-tracer:{tag}\n")),
        "the built-in definition's tracer image is what tracer/image/build.sh builds \
         (kiltx/kiltx-tracer:{tag}):\n{definition}"
    );

    // 2. patch: the app's command line must come from the registry
    let task = register_json(&app_image, "exit");
    let patched = patch(dir, "task.json", &task, &tracer_image, &[]);
    let app = &patched["containerDefinitions"][0];
    assert_eq!(
        app["command"],
        json!(["/bin/sh", "/app/main.sh", "hello", "world"]),
        "the image's ENTRYPOINT + CMD, read from the registry: {app}"
    );

    // kiltx lint agrees: the patched task is instrumented, the original is not
    // (with the definition it was patched with: the built-in one, with raw events)
    let lint = |file: &str| {
        kiltx()
            .arg("lint")
            .arg("--definition")
            .arg(dir.join("raw-events.yaml"))
            .arg(dir.join(file))
            .output()
            .unwrap()
    };
    let l = lint("patched-task.json");
    assert_eq!(
        l.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&l.stdout)
    );
    let l = lint("task.json");
    assert_eq!(
        l.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&l.stdout)
    );

    // 3. run the unpatched and the patched task
    let podman = Podman::new(&dir.join("podman"));
    let run = |t: &Value, id: &str| {
        let task = Task::from_json(t).unwrap_or_else(|e| panic!("{id}: {e}"));
        podman
            .start_task(&task, id)
            .and_then(|r| r.wait(TIMEOUT))
            .unwrap_or_else(|e| panic!("{id}: {e}"))
    };
    let plain = run(&task, "plain");
    let traced = run(&patched, "traced");

    // 4. the application behaves exactly as before...
    let (p, t) = (plain.container("app"), traced.container("app"));
    assert!(
        p.stdout.contains("app: args: hello world\napp: greeting: hi there\nsome data\nrenamed.txt\napp: from a child process\n"),
        "the unpatched application ran: {p:#?}"
    );
    assert_eq!(p.exit_code, Some(3), "{p:#?}");
    assert_eq!(t.stdout, p.stdout, "stdout, traced vs not");
    assert_eq!(
        t.exit_code, p.exit_code,
        "exit status, traced vs not: {t:#?}"
    );
    assert_eq!(app_stderr(&traced), app_stderr(&plain), "{t:#?}");
    assert_eq!(
        traced.stopped_reason,
        "Essential container in task exited (app)"
    );
    // ...its events reached the sidecar, which stopped cleanly with the task
    assert_app_events(&traced);
    assert_eq!(traced.container("kiltx-tracer").exit_code, Some(0));

    // The CloudFormation flavour of the same task patches and runs the same way.
    let template = cloudformation(&app_image);
    let patched_cfn = patch(dir, "template.json", &template, &tracer_image, &[]);
    let cfn_task = Task::from_cloudformation(&patched_cfn, "AppTask").unwrap();
    assert_eq!(
        cfn_task,
        Task::from_json(&patched).unwrap(),
        "CloudFormation and register JSON patch alike"
    );
    let cfn = podman
        .start_task(&cfn_task, "cfn")
        .and_then(|r| r.wait(TIMEOUT))
        .unwrap();
    assert_eq!(cfn.container("app").stdout, p.stdout);
    assert_eq!(cfn.container("app").exit_code, p.exit_code);
    assert_app_events(&cfn);
    // the developers' helper runs the same template the same way
    let helper = hermetic(env!("CARGO_BIN_EXE_ecs-podman"))
        .arg(dir.join("patched-template.json"))
        .args(["--resource", "AppTask"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&helper.stdout);
    assert_eq!(helper.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!("== app (exit Some(3))\n-- stdout\n{}", p.stdout)),
        "{text}"
    );

    // 5. StopTask (podman stop: SIGTERM) reaches the application through the tracer
    let waiting = register_json(&app_image, "wait");
    let patched_waiting = patch(dir, "waiting.json", &waiting, &tracer_image, &[]);
    let stop = |t: &Value, id: &str| {
        let task = Task::from_json(t).unwrap();
        let r = podman.start_task(&task, id).unwrap();
        r.wait_for_stdout("app", "app: waiting", TIMEOUT).unwrap();
        let t0 = Instant::now();
        let run = r.stop().unwrap();
        (run, t0.elapsed())
    };
    let (plain_stop, _) = stop(&waiting, "plain-stop");
    let (traced_stop, took) = stop(&patched_waiting, "traced-stop");
    let (p, t) = (plain_stop.container("app"), traced_stop.container("app"));
    assert!(
        p.stdout.ends_with("app: waiting\napp: got SIGTERM\n"),
        "{p:#?}"
    );
    assert_eq!(p.exit_code, Some(42), "{p:#?}");
    assert_eq!(t.stdout, p.stdout, "stdout after SIGTERM, traced vs not");
    assert_eq!(
        t.exit_code,
        Some(42),
        "the trap's status, not SIGKILL's 137: {t:#?}"
    );
    assert!(
        took < Duration::from_secs(15),
        "the task stopped on SIGTERM, long before the 30 s stopTimeout: {took:?}"
    );
    assert_eq!(traced_stop.container("kiltx-tracer").exit_code, Some(0));
    let ev = events(&traced_stop);
    find_syscall(&ev, "execve", |a| a["path"] == "/bin/sh");

    // 6. without SYS_PTRACE (Fargate's seccomp profile refuses ptrace then): a clear error,
    //    and the application does not run...
    let mut no_ptrace = patched.clone();
    no_ptrace["containerDefinitions"][0]
        .as_object_mut()
        .unwrap()
        .remove("linuxParameters");
    let denied = run(&no_ptrace, "no-ptrace");
    let d = denied.container("app");
    assert_eq!(d.exit_code, Some(1), "{d:#?}");
    assert_eq!(
        d.stdout, "",
        "the application must not run untraced: {d:#?}"
    );
    assert!(
        d.stderr
            .contains("kiltx-tracer: error: cannot trace the application")
            && d.stderr.contains("Add the SYS_PTRACE capability"),
        "{d:#?}"
    );

    // ...unless the definition asks for --fail-open: the app runs untraced, loudly.
    let fail_open = definition.replace(
        "\n  - run\n  - --output\n",
        "\n  - run\n  - --fail-open\n  - --output\n",
    );
    assert_ne!(
        fail_open, definition,
        "the wrapper is where the test expects it:\n{definition}"
    );
    let def_file = dir.join("fail-open.yaml");
    fs::write(&def_file, fail_open).unwrap();
    let mut open = patch(
        dir,
        "fail-open.json",
        &task,
        &tracer_image,
        &["--definition", def_file.to_str().unwrap()],
    );
    open["containerDefinitions"][0]
        .as_object_mut()
        .unwrap()
        .remove("linuxParameters");
    let untraced = run(&open, "fail-open");
    let u = untraced.container("app");
    assert_eq!(u.stdout, plain.container("app").stdout, "{u:#?}");
    assert_eq!(u.exit_code, Some(3), "{u:#?}");
    assert!(
        u.stderr.contains("running the application UNTRACED"),
        "{u:#?}"
    );
    assert!(
        u.stderr.contains("cannot trace the application"),
        "the cause: {u:#?}"
    );
    let ev = events(&untraced);
    let warning = find(&ev, "the tracer's fail-open warning", |e| {
        e["type"] == "tracer" && e["args"]["traced"] == false
    });
    assert_eq!(warning["container"], "app", "{warning}");
    assert!(
        !ev.iter().any(|e| e["type"] == "syscall"),
        "untraced: no syscall events"
    );

    // 7. A bridge-mode task (EC2): every container in a network namespace of its own, so each
    //    has its own loopback. The events still arrive: they travel over a unix socket in the
    //    sidecar's volume, which the application container mounts read-only.
    let bridge = json!({
        "family": "demo-bridge",
        "networkMode": "bridge",
        "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{
            "name": "app", "image": app_image, "essential": true, "memory": 256,
            "environment": [{"name": "GREETING", "value": "hi there"}, {"name": "APP_MODE", "value": "exit"}]
        }]
    });
    let patched_bridge = patch(
        dir,
        "bridge.json",
        &bridge,
        &tracer_image,
        &["--include-ec2"],
    );
    let bridge_task = Task::from_json(&patched_bridge).unwrap();
    assert_eq!(bridge_task.network, kiltx_e2e::task::Network::Bridge);
    let bridged = podman
        .start_task(&bridge_task, "bridge")
        .and_then(|r| r.wait(TIMEOUT))
        .unwrap();
    assert_eq!(
        bridged.container("app").stdout,
        plain.container("app").stdout
    );
    assert_eq!(bridged.container("app").exit_code, Some(3));
    assert_app_events(&bridged);
    // (The tracer may start before the collector listens: it then says so and connects when
    // it can; it must not end without having reached it.)
    assert!(
        !bridged
            .container("app")
            .stderr
            .contains("was never reached"),
        "the tracer reached its sink: {}",
        bridged.container("app").stderr
    );
    // The same task with the earlier TCP transport (a definition saying tcp://127.0.0.1:7701)
    // loses every event in bridge mode, and the tracer says so on the application's stderr.
    let tcp = definition.replace("unix:/kiltx/run/events.sock", "tcp://127.0.0.1:7701");
    assert_ne!(
        tcp, definition,
        "the transport is where the test expects it"
    );
    let tcp_file = dir.join("tcp.yaml");
    fs::write(&tcp_file, tcp).unwrap();
    let patched_tcp = patch(
        dir,
        "bridge-tcp.json",
        &bridge,
        &tracer_image,
        &["--include-ec2", "--definition", tcp_file.to_str().unwrap()],
    );
    let lost = podman
        .start_task(&Task::from_json(&patched_tcp).unwrap(), "bridge-tcp")
        .and_then(|r| r.wait(TIMEOUT))
        .unwrap();
    assert_eq!(
        lost.container("app").exit_code,
        Some(3),
        "the application is unaffected"
    );
    assert!(
        !events(&lost).iter().any(|e| e["type"] == "syscall"),
        "over TCP, no event crosses from one loopback to another"
    );
    let said = &lost.container("app").stderr;
    assert!(
        said.contains("cannot reach the event sink tcp://127.0.0.1:7701")
            && said.contains("was never reached"),
        "the tracer says where a user looks that its events are lost: {said}"
    );

    // 8. The application holds the task's whole budget (cpu 256 of 256, memory 512 of 512,
    //    as a hard limit): the sidecar asks for no cpu then, and keeps its memoryReservation
    //    (ECS sums reservations, not hard limits, against the task's memory); ECS registers
    //    the task (kiltx lint's ECS rules agree), and it runs with the container's hard memory
    //    limit.
    let mut whole = register_json(&app_image, "exit");
    whole["containerDefinitions"][0]["cpu"] = json!(256);
    whole["containerDefinitions"][0]["memory"] = json!(512);
    let patched_whole = patch(dir, "whole.json", &whole, &tracer_image, &[]);
    let sidecar = &patched_whole["containerDefinitions"][1];
    assert_eq!(sidecar["name"], "kiltx-tracer");
    assert!(
        sidecar.get("cpu").is_none(),
        "the sidecar takes no CPU the application holds: {sidecar}"
    );
    assert_eq!(sidecar["memoryReservation"], 64, "{sidecar}");
    let l = kiltx()
        .arg("lint")
        .arg("--definition")
        .arg(dir.join("raw-events.yaml"))
        .arg(dir.join("patched-whole.json"))
        .output()
        .unwrap();
    assert_eq!(
        l.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&l.stdout)
    );
    let whole_task = Task::from_json(&patched_whole).unwrap();
    assert_eq!(whole_task.container("app").unwrap().memory, Some(512));
    let limited = podman
        .start_task(&whole_task, "whole")
        .and_then(|r| r.wait(TIMEOUT))
        .unwrap();
    assert_eq!(
        limited.container("app").stdout,
        plain.container("app").stdout
    );
    assert_eq!(limited.container("app").exit_code, Some(3));
    assert_app_events(&limited);

    // 9. The built-in definition as it is: the sidecar evaluates kiltx's default rules and
    //    writes alerts (Falco's JSON), not the events. An attack inside the task (a package
    //    manager run by the application) is an alert attributed to its container.
    let attack = register_json(&app_image, "attack");
    let patched_attack = patch(
        dir,
        "attack.json",
        &attack,
        &tracer_image,
        &["--definition", builtin_file.to_str().unwrap()],
    );
    let attacked = podman
        .start_task(&Task::from_json(&patched_attack).unwrap(), "attack")
        .and_then(|r| r.wait(TIMEOUT))
        .unwrap();
    assert!(
        attacked.container("app").stdout.contains("apk: add nmap"),
        "{:#?}",
        attacked.container("app")
    );
    let out = events(&attacked);
    assert!(
        !out.iter().any(|e| e["type"] == "syscall"),
        "alerts only, no raw events: {out:?}"
    );
    let alerts: Vec<&Value> = out.iter().filter(|e| e.get("rule").is_some()).collect();
    let alert = alerts
        .iter()
        .find(|a| a["rule"] == "Package manager run in the task")
        .unwrap_or_else(|| panic!("no package-manager alert: {alerts:#?}"));
    assert_eq!(alert["priority"], "Error", "{alert}");
    assert_eq!(alert["source"], "syscall", "{alert}");
    assert_eq!(alert["output_fields"]["container.name"], "app", "{alert}");
    assert_eq!(alert["output_fields"]["proc.name"], "apk", "{alert}");
    assert!(
        alert["output"].as_str().unwrap().contains("add nmap"),
        "{alert}"
    );
    // The same workload without the attack alerts nothing.
    let quiet = patch(
        dir,
        "quiet.json",
        &register_json(&app_image, "exit"),
        &tracer_image,
        &["--definition", builtin_file.to_str().unwrap()],
    );
    let calm = podman
        .start_task(&Task::from_json(&quiet).unwrap(), "quiet")
        .and_then(|r| r.wait(TIMEOUT))
        .unwrap();
    let calm_out = events(&calm);
    assert!(
        !calm_out.iter().any(|e| e.get("rule").is_some()),
        "an ordinary run alerts nothing: {calm_out:?}"
    );
}

#[test]
fn the_helper_refuses_what_it_cannot_run() {
    let scratch = TempDir::new("e2e-helper");
    let file = scratch.path().join("task.json");
    fs::write(
        &file,
        r#"{"containerDefinitions": [{"name": "app", "image": "i", "secrets": []}]}"#,
    )
    .unwrap();
    let out = hermetic(env!("CARGO_BIN_EXE_ecs-podman"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("containerDefinitions[0].secrets: the harness does not model secrets"),
        "{err}"
    );
}

/// `tracer/image/Containerfile` builds, for each platform, the image `tracer/image/build.sh`
/// puts in its index: the same configuration and the same single file, that platform's tracer;
/// and podman makes the pair one name (a manifest list) for linux/amd64 and linux/arm64.
#[test]
fn the_containerfile_and_the_script_build_the_same_images() {
    let scratch = TempDir::new("e2e-containerfile");
    let dir = scratch.path();
    let layout = dir.join("oci");
    let tag = kiltx_e2e::build_tracer_image(&layout);
    let podman = Podman::new(&dir.join("podman"));
    let root = repo_root();
    let containerfile = root.join("tracer/image/Containerfile");
    let binaries = [
        ("amd64", root.join("target/release/kiltx-tracer")),
        (
            "arm64",
            root.join("target/aarch64-cross/aarch64-unknown-linux-gnu/release/kiltx-tracer"),
        ),
    ];
    for (arch, binary) in &binaries {
        let platform = format!("linux/{arch}");
        let from_file = format!("localhost/kiltx-tracer:containerfile-{arch}");
        podman
            .run(&[
                "build",
                "--quiet",
                "--platform",
                &platform,
                "-f",
                containerfile.to_str().unwrap(),
                "-t",
                &from_file,
                root.to_str().unwrap(),
            ])
            .unwrap();
        // the script's image of that platform (the layout names it TAG-ARCH)
        let layout_ref = format!("oci:{}:{tag}-{arch}", layout.display());
        let from_script = podman
            .run(&["pull", "--quiet", "--platform", &platform, &layout_ref])
            .unwrap();
        let from_script = from_script.trim().to_string();
        let script_config = podman.image_config(&from_script).unwrap();
        let file_config = podman.image_config(&from_file).unwrap();
        for key in ["Entrypoint", "Volumes", "Env", "Cmd", "WorkingDir", "User"] {
            assert_eq!(
                script_config.get(key),
                file_config.get(key),
                "{arch}: {key}"
            );
        }
        assert_eq!(script_config["Entrypoint"], collector_entrypoint());
        assert_eq!(script_config["Volumes"], json!({"/kiltx": {}}));
        for image in [&from_script, &from_file] {
            let inspected = podman
                .run(&[
                    "image",
                    "inspect",
                    "--format",
                    "{{.Os}}/{{.Architecture}}",
                    image,
                ])
                .unwrap();
            assert_eq!(inspected.trim(), platform, "{image}");
            // the same file, byte for byte, and nothing else in either image
            let mount = podman.run(&["image", "mount", image]).unwrap();
            let out = Path::new(mount.trim()).to_path_buf();
            assert_eq!(
                walk(&out),
                vec!["kiltx/bin/kiltx-tracer".to_string()],
                "{image}"
            );
            assert_eq!(
                fs::read(out.join("kiltx/bin/kiltx-tracer")).unwrap(),
                fs::read(binary).unwrap(),
                "{image}: the release tracer of {arch}"
            );
            podman.run(&["image", "unmount", image]).unwrap();
        }
    }
    // both platforms under one name, as the Containerfile's header says to build it
    podman
        .run(&[
            "build",
            "--quiet",
            "--platform",
            "linux/amd64,linux/arm64",
            "--manifest",
            "localhost/kiltx-tracer:containerfile",
            "-f",
            containerfile.to_str().unwrap(),
            root.to_str().unwrap(),
        ])
        .unwrap();
    let list: Value = serde_json::from_str(
        &podman
            .run(&[
                "manifest",
                "inspect",
                "localhost/kiltx-tracer:containerfile",
            ])
            .unwrap(),
    )
    .unwrap();
    let mut platforms: Vec<String> = list["manifests"]
        .as_array()
        .expect("a manifest list")
        .iter()
        .map(|m| {
            format!("{}/{}", m["platform"]["os"], m["platform"]["architecture"]).replace('"', "")
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
}

/// The sidecar image's entrypoint: the collector on the task's socket, with kiltx's rules.
fn collector_entrypoint() -> Value {
    json!([
        "/kiltx/bin/kiltx-tracer",
        "collect",
        "--listen",
        "unix:/kiltx/run/events.sock",
        "--rules",
        "default"
    ])
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            out.extend(walk(&p).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(p.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    out.sort();
    out
}

/// The sidecar image is one name for two platforms: an OCI image index whose linux/amd64 and
/// linux/arm64 images each hold the tracer of their architecture, built reproducibly, and
/// pushed whole to a registry.
#[test]
fn the_sidecar_image_is_an_index_for_amd64_and_arm64() {
    let scratch = TempDir::new("e2e-multiarch");
    let dir = scratch.path();
    let layout = dir.join("oci");
    let tag = kiltx_e2e::build_tracer_image(&layout);
    let root = repo_root();
    let blob = |digest: &Value| {
        let d = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
        layout.join("blobs/sha256").join(d)
    };
    let json_blob = |digest: &Value| -> Value {
        serde_json::from_slice(&fs::read(blob(digest)).unwrap()).unwrap()
    };
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let named = |name: &str| -> Value {
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
            .unwrap_or_else(|| panic!("{name} in the layout: {index}"))
            .clone()
    };
    let top = named(&tag);
    assert_eq!(top["mediaType"], "application/vnd.oci.image.index.v1+json");
    let image_index = json_blob(&top["digest"]);
    let platforms: Vec<(String, Value)> = image_index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap(),
                    m["platform"]["architecture"].as_str().unwrap()
                ),
                m["digest"].clone(),
            )
        })
        .collect();
    let names: Vec<&str> = platforms.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["linux/amd64", "linux/arm64"]);
    for (platform, digest) in &platforms {
        let (arch, machine, binary) = match platform.as_str() {
            "linux/amd64" => ("amd64", 62u16, root.join("target/release/kiltx-tracer")),
            _ => (
                "arm64",
                183u16,
                root.join("target/aarch64-cross/aarch64-unknown-linux-gnu/release/kiltx-tracer"),
            ),
        };
        let manifest = json_blob(digest);
        let config = json_blob(&manifest["config"]["digest"]);
        assert_eq!(config["architecture"], arch, "{platform}");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["config"]["Entrypoint"], collector_entrypoint());
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1);
        let out = hermetic("tar")
            .arg("-xzOf")
            .arg(blob(&layers[0]["digest"]))
            .arg("kiltx/bin/kiltx-tracer")
            .output()
            .unwrap();
        assert!(out.status.success(), "{platform}: {out:?}");
        let elf = &out.stdout;
        assert_eq!(&elf[..4], b"\x7fELF", "{platform}");
        assert_eq!(
            u16::from_le_bytes([elf[18], elf[19]]),
            machine,
            "{platform}: e_machine"
        );
        assert!(
            *elf == fs::read(&binary).unwrap(),
            "{platform}: {}",
            binary.display()
        );
        // each platform's image is also named in the layout
        assert_eq!(named(&format!("{tag}-{arch}"))["digest"], *digest);
    }

    // reproducible: a second build gives the same index, byte for byte
    let again = dir.join("oci-again");
    assert_eq!(kiltx_e2e::build_tracer_image(&again), tag);
    let index2: Value =
        serde_json::from_slice(&fs::read(again.join("index.json")).unwrap()).unwrap();
    assert_eq!(index2, index);

    // pushed whole: the registry serves the index with both platforms
    let reg = registry(&dir.join("registry"), dir, Auth::Anonymous);
    let reference = format!("{}/kiltx/kiltx-tracer:{tag}", reg.host());
    push(&layout, &tag, &reference);
    let raw = hermetic("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(raw.status.success(), "{raw:?}");
    let served: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(
        served, image_index,
        "the registry serves the index as built"
    );
}
