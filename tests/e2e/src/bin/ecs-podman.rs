//! `ecs-podman TASK.json [--resource LOGICAL_ID] [--timeout SECS]`: run an ECS task definition
//! with podman the way Fargate runs it (see the `podman` module of `kiltx-e2e` for what that
//! means), print each container's stdout, stderr and exit status, and exit with the status of
//! the essential container that stopped the task. For developers: e.g. run a `kiltx patch`
//! output by hand. Images must be pullable (registries on 127.0.0.1 over plain HTTP).
//! Podman's storage lives in a scratch directory removed at exit.

use std::process::ExitCode;
use std::time::Duration;

use kiltx_e2e::podman::Podman;
use kiltx_e2e::task::Task;
use kiltx_e2e::TempDir;

const USAGE: &str = "usage: ecs-podman TASK.json [--resource LOGICAL_ID] [--timeout SECS]
  TASK.json: register-task-definition JSON, describe-task-definition output, or (with
  --resource) a CloudFormation template in JSON";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ecs-podman: error: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut args = std::env::args().skip(1);
    let (mut file, mut resource, mut timeout) = (None, None, 300u64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--resource" => resource = Some(args.next().ok_or("--resource needs a logical ID")?),
            "--timeout" => {
                timeout = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--timeout needs a number of seconds")?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            _ if file.is_none() && !a.starts_with('-') => file = Some(a),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let file = file.ok_or("no task definition file given")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    let task = match &resource {
        Some(id) => Task::from_cloudformation(&doc, id),
        None => Task::from_json(&doc),
    }
    .map_err(|e| format!("{file}: {e}"))?;
    let scratch = TempDir::new("ecs-podman");
    let podman = Podman::new(scratch.path());
    let id = format!("ecs-podman-{}", std::process::id());
    let run = podman
        .start_task(&task, &id)
        .and_then(|t| t.wait(Duration::from_secs(timeout)))
        .map_err(|e| format!("{file}: {e}"))?;
    for c in &run.containers {
        println!("== {} (exit {:?})", c.name, c.exit_code);
        print!("-- stdout\n{}", c.stdout);
        print!("-- stderr\n{}", c.stderr);
    }
    println!("== task stopped: {}", run.stopped_reason);
    let code = task
        .containers
        .iter()
        .filter(|c| c.essential)
        .filter_map(|c| run.container(&c.name).exit_code)
        .find(|&c| c != 0)
        .unwrap_or(0);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
