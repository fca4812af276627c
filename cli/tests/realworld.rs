//! The real-world corpus (`../shared/peer/realworld/inputs`, 54 task definitions from public
//! repositories): every file is patched as a user would (tests/realworld/README.md): with the
//! image configurations of `tests/realworld/images.json` (kiltx runs offline here), the
//! `--parameter` values of `tests/realworld/parameters.json`, the region and the account, and
//! `--include-ec2` for the EC2 task definitions (whose users want them watched too). The table states what
//! kiltx must make of each file: for every task definition, the containers wrapped or why it is
//! left alone, and where the sidecar's output goes.
//!
//! Every output must then be right for ECS, not only well-formed: `kiltx lint` (which holds the
//! ECS validator) finds no error its input lacked, cfn-lint and botocore find no new problem
//! (tests/validate.py), and patching it again changes nothing. The macro's handler gets the same
//! templates in lambda/tests/realworld.rs.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::{json, Value};

/// What kiltx makes of one task definition.
enum Outcome {
    /// These containers wrapped (as the summary names them), and where the sidecar logs.
    Wrapped(&'static str, Logs),
    /// Left alone, the summary's reason containing this.
    Skipped(&'static str),
}
use Outcome::{Skipped, Wrapped};

/// Where the sidecar's output goes (logging.rs), as the summary says.
enum Logs {
    /// awslogs, derived from the traced containers': group as the summary shows it.
    Awslogs(&'static str),
    /// Through the task's FireLens log router.
    Firelens,
    /// Nowhere given: the summary says it is discarded on Fargate.
    Nowhere,
}
use Logs::{Awslogs, Firelens, Nowhere};

const REGION: &str = "AWS::Region=us-east-1";
const ACCOUNT: &str = "AWS::AccountId=123456789012";
const EC2: &str = "--include-ec2";
const NOT_FARGATE: &str = "does not include FARGATE";
const COPILOT: &str = "#0 (the intrinsic function Ref)";

/// (file, extra options, [(task, outcome)]). Parameters come from tests/realworld/parameters.json.
type Entry = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, Outcome)],
);

const CORPUS: &[Entry] = &[
    (
        "appmesh-colorapp-ecs.yaml",
        &[EC2],
        &[
            (
                "TesterTaskDefinition",
                Wrapped("app", Awslogs("the intrinsic function Fn::ImportValue")),
            ),
            (
                "TcpEchoTaskDefinition",
                Wrapped("app", Awslogs("the intrinsic function Fn::ImportValue")),
            ),
        ],
    ),
    (
        "appmesh-ecs-basics-meshify.yaml",
        &[],
        &[
            (
                "ColorTaskDef",
                Wrapped(
                    "app, xray, cwagent, envoy",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
            (
                "FrontTaskDef",
                Wrapped(
                    "app, xray, cwagent, envoy",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
        ],
    ),
    (
        "appmesh-metrics-extension-djapp.yaml",
        &[],
        &[
            (
                "DJAppGatewayTaskDef",
                Wrapped(
                    "otel-collector, envoy",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
            (
                "DJAppTaskDef",
                Wrapped(
                    "otel-collector, envoy, app",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
            (
                "JazzTaskDef",
                Wrapped(
                    "otel-collector, envoy, app",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
            (
                "MetalV1TaskDef",
                Wrapped(
                    "otel-collector, envoy, app",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
            (
                "MetalV2TaskDef",
                Wrapped(
                    "otel-collector, envoy, app",
                    Awslogs("the intrinsic function Ref"),
                ),
            ),
        ],
    ),
    (
        "awstd-consul-server.json",
        &[],
        &[(
            "task definition",
            Wrapped("consulServer", Awslogs("\"consul\"")),
        )],
    ),
    (
        "awstd-gunicorn-fargate.json",
        &[],
        &[(
            "task definition",
            Wrapped("gunicorn", Awslogs("\"/ecs/gunicorn\"")),
        )],
    ),
    (
        "awstd-jetty-fargate.json",
        &[],
        &[(
            "task definition",
            Wrapped("jetty", Awslogs("\"/ecs/jetty\"")),
        )],
    ),
    (
        "awstd-kibana-fargate.json",
        &[],
        &[(
            "task definition",
            Wrapped("kibana", Awslogs("\"/ecs/kibana\"")),
        )],
    ),
    (
        "awstd-nginx-ec2.json",
        &[],
        &[("task definition", Skipped(NOT_FARGATE))],
    ),
    (
        "awstd-nginx-fargate.json",
        &[],
        &[(
            "task definition",
            Wrapped("nginx", Awslogs("\"awslogs-nginx-ecs\"")),
        )],
    ),
    // Invalid as published (awsvpc with hostPort 80 for containerPort 8080: KX063); the output
    // keeps that error and adds none.
    (
        "awstd-tomcat-ec2.json",
        &[],
        &[(
            "task definition",
            Wrapped(
                "tomcat-webserver",
                Awslogs("\"/ecs/tomcat-container-logs\""),
            ),
        )],
    ),
    (
        "awstd-wildfly-fargate.json",
        &[],
        &[(
            "task definition",
            Wrapped("wildfly", Awslogs("\"/ecs/wildfly\"")),
        )],
    ),
    (
        "botocore-example-describe-task-definition.json",
        &[],
        &[("task definition", Wrapped("wordpress, mysql", Nowhere))],
    ),
    (
        "cdk-fargate-firelens-cloudwatch.template.json",
        &[],
        &[("TaskDef54694570", Wrapped("nginx, log-router", Firelens))],
    ),
    (
        "cdk-fargate-runtime-windows-graviton.template.json",
        &[],
        &[
            (
                "TaskDefWindows46D24ABF",
                Skipped("WINDOWS_SERVER_2019_CORE"),
            ),
            (
                "TaskDefGraviton21BE43931",
                // ARM64: the built-in sidecar's image is an index for amd64 and arm64.
                Wrapped("webarm64", Awslogs("the intrinsic function Ref")),
            ),
        ],
    ),
    (
        "cdk-patterns-fargate-asset-image.template.json",
        &[],
        &[(
            "FargateServiceTaskDef940E3A80",
            Wrapped("web", Awslogs("the intrinsic function Ref")),
        )],
    ),
    (
        "cdkext-all-service-addons.template.json",
        &[],
        &[
            (
                "nametaskdefinition690762BB",
                Wrapped("app, envoy, firelens, xray, cloudwatch-agent", Firelens),
            ),
            (
                "greetingtaskdefinition31690093",
                Wrapped("app, envoy, firelens, xray, cloudwatch-agent", Firelens),
            ),
            (
                "greetertaskdefinitionE956EEA2",
                Wrapped("app, envoy, firelens, xray, cloudwatch-agent", Firelens),
            ),
        ],
    ),
    // Images built with Fn::Join over Fn::FindInMap and the pseudo parameters.
    (
        "cdkext-multiple-environments.template.json",
        &[],
        &[
            (
                "nameproductiontaskdefinition33A5D5E0",
                Wrapped("app, envoy", Awslogs("the intrinsic function Ref")),
            ),
            (
                "namedevelopmenttaskdefinition0468FBFF",
                Wrapped("app, envoy", Awslogs("the intrinsic function Ref")),
            ),
        ],
    ),
    (
        "cfntemplates-ec2-public-service.yaml",
        &[EC2],
        &[("TaskDefinition", Wrapped(COPILOT, Nowhere))],
    ),
    (
        "cfntemplates-ecs-schedule-example.yaml",
        &[EC2],
        &[(
            "TaskDefinition",
            Wrapped("simple-app, busybox", Awslogs("the intrinsic function Ref")),
        )],
    ),
    (
        "cfntemplates-fargate-private-subnet-private-service.json",
        &[],
        &[("TaskDefinition", Wrapped(COPILOT, Nowhere))],
    ),
    (
        "cfntemplates-fargate-public-service.yaml",
        &[],
        &[("TaskDefinition", Wrapped(COPILOT, Nowhere))],
    ),
    (
        "copilot-backend-http-full-config.yml",
        &[],
        &[(
            "TaskDefinition",
            Wrapped(
                "#0 (the intrinsic function Ref), fluent-bit",
                Awslogs("the intrinsic function Ref"),
            ),
        )],
    ),
    (
        "copilot-lbws-svc-test.stack.yml",
        &[],
        &[(
            "TaskDefinition",
            Wrapped(COPILOT, Awslogs("the intrinsic function Ref")),
        )],
    ),
    (
        "copilot-nlb-prod.stack.yml",
        &[],
        &[(
            "TaskDefinition",
            Wrapped(
                "#0 (the intrinsic function Ref), nginx, tls",
                Awslogs("the intrinsic function Ref"),
            ),
        )],
    ),
    (
        "copilot-scheduled-job-test.stack.yml",
        &[],
        &[(
            "TaskDefinition",
            Wrapped(
                "#0 (the intrinsic function Ref), nginx",
                Awslogs("the intrinsic function Ref"),
            ),
        )],
    ),
    (
        "copilot-windows-svc-test.stack.yml",
        &[],
        &[("TaskDefinition", Skipped("WINDOWS_SERVER_2019_CORE"))],
    ),
    (
        "copilot-worker-test.stack.yml",
        &[],
        &[(
            "TaskDefinition",
            Wrapped(COPILOT, Awslogs("the intrinsic function Ref")),
        )],
    ),
    (
        "cwinsights-combination-fargate.json",
        &[],
        &[(
            "task definition",
            Wrapped(
                "demo-app, cloudwatch-agent",
                Awslogs("\"/ecs/ecs-cwagent-sidecar-fargate\""),
            ),
        )],
    ),
    (
        "cwinsights-instance-metric-daemon-cfn.json",
        &[EC2],
        &[(
            "ECSTaskDefinition",
            Wrapped(
                "cloudwatch-agent",
                Awslogs("\"/ecs/ecs-cwagent-daemon-service\""),
            ),
        )],
    ),
    // RequiresCompatibilities: [!Ref ECSLaunchType], which has no Default.
    (
        "cwinsights-prometheus-awsvpc-cfn.yaml",
        &[],
        &[(
            "ECSCWAgentTaskDefinition",
            Wrapped(
                "cloudwatch-agent-prometheus",
                Awslogs("\"/ecs/ecs-cwagent-prometheus\""),
            ),
        )],
    ),
    (
        "cwinsights-redis-traffic-sample.yaml",
        &[],
        &[(
            "ECSRedisTaskDefinition",
            Wrapped(
                "redis-0, redis-exporter-0",
                Awslogs("\"/ecs/ecs-redis-prometheus-demo\""),
            ),
        )],
    ),
    (
        "cwinsights-statsd-ec2.json",
        &[EC2],
        &[(
            "task definition",
            Wrapped(
                "statsd-client, cloudwatch-agent",
                Awslogs("\"/ecs/ecs-cwagent-statsd-ec2\""),
            ),
        )],
    ),
    (
        "ecspresso-ci-daemon.json",
        &[EC2],
        &[(
            "task definition",
            Wrapped("nginx", Awslogs("\"ecspresso-test\"")),
        )],
    ),
    (
        "ecspresso-describe-td.json",
        &[],
        &[(
            "task definition",
            Wrapped("katsubushi", Awslogs("\"fargate\"")),
        )],
    ),
    (
        "ecspresso-td-plain.json",
        &[],
        &[(
            "task definition",
            Wrapped("katsubushi", Awslogs("\"fargate\"")),
        )],
    ),
    (
        "firelens-appmesh-colorteller.json",
        &[],
        &[(
            "task definition",
            Wrapped("log_router, app, envoy", Awslogs("\"appmesh-firelens\"")),
        )],
    ),
    (
        "firelens-config-file-type-file.json",
        &[],
        &[(
            "task definition",
            Wrapped("log_router, app", Awslogs("\"firelens-container\"")),
        )],
    ),
    // No requiresCompatibilities nor networkMode: a bridge-mode task.
    (
        "firelens-datadog.json",
        &[],
        &[("task definition", Wrapped("log_router, app", Firelens))],
    ),
    (
        "firelens-efs.json",
        &[],
        &[("task definition", Wrapped("nginx, log_router", Firelens))],
    ),
    (
        "firelens-internal-metrics-to-cw.json",
        &[],
        &[(
            "task definition",
            Wrapped(
                "log_router, app",
                Awslogs("\"fb-metrics-to-cw-fluent-bit-output\""),
            ),
        )],
    ),
    (
        "firelens-oomkill-full-memory.json",
        &[],
        &[(
            "task definition",
            Wrapped("log_router, app", Awslogs("\"firelens-container\"")),
        )],
    ),
    (
        "firelens-splitting-fluentd.json",
        &[],
        &[(
            "task definition",
            Wrapped("logrouter, app", Awslogs("\"fluent-logger-app-router\"")),
        )],
    ),
    (
        "firelens-tcp-healthcheck.json",
        &[],
        &[(
            "task definition",
            Wrapped("log_router, app", Awslogs("\"firelens-container\"")),
        )],
    ),
    (
        "gha-deploy-volume-configuration.json",
        &[],
        &[("task definition", Wrapped("sample-app", Nowhere))],
    ),
    (
        "otel-cloudwatch-ecs-fargate-sidecar.json",
        &[],
        &[(
            "task definition",
            Wrapped(
                "aws-otel-collector, aws-otel-emitter, nginx, aoc-statsd-emitter",
                Awslogs("\"/ecs/ecs-aws-otel-sidecar-collector\""),
            ),
        )],
    ),
    (
        "otel-ec2-instance-metrics-daemon-cfn.yaml",
        &[EC2],
        &[(
            "ECSTaskDefinition",
            Wrapped(
                "aws-collector",
                Awslogs("\"/ecs/ecs-cwagent-daemon-service\""),
            ),
        )],
    ),
    (
        "otel-fargate-sidecar-deployment-cfn.yaml",
        &[],
        &[(
            "ECSTaskDefinition",
            Wrapped(
                "aws-collector, aws-xray-data-emitter, nginx, aoc-statsd-emitter",
                Awslogs("\"/ecs/ecs-aws-otel-sidecar-collector\""),
            ),
        )],
    ),
    (
        "otel-prometheus-ecs-fargate-task-def.json",
        &[],
        &[(
            "task definition",
            Wrapped(
                "aws-otel-collector, prometheus-sample-app",
                Awslogs("\"/ecs/ecs-aws-otel-sidecar-collector\""),
            ),
        )],
    ),
    (
        "refarch-product-service.yaml",
        &[EC2],
        &[(
            "TaskDefinition",
            Wrapped("product-service", Awslogs("the intrinsic function Ref")),
        )],
    ),
    (
        "refarch-website-service.yaml",
        &[EC2],
        &[(
            "TaskDefinition",
            Wrapped("website-service", Awslogs("the intrinsic function Ref")),
        )],
    ),
    (
        "solconstructs-alb-fargate-two-targets.template.json",
        &[],
        &[(
            "testconstructtaskdef8BD1F9E4",
            Wrapped("test-construct-container", Nowhere),
        )],
    ),
    (
        "solconstructs-fargate-sqs-new.template.json",
        &[],
        &[(
            "testconstructtaskdef8BD1F9E4",
            Wrapped("test-construct-container", Nowhere),
        )],
    ),
    (
        "tf-ptodo-container-definitions.json",
        &[],
        &[(
            "containerDefinitions",
            Wrapped("frontend, backend", Awslogs("\"/ecs/ptodo\"")),
        )],
    ),
    (
        "tf-sorry-cypress-container-definitions.json",
        &[],
        &[(
            "containerDefinitions",
            Wrapped(
                "mongo, director, api, dashboard",
                Awslogs("\"${logs_group_name}\""),
            ),
        )],
    ),
];

fn inputs() -> PathBuf {
    crate::common::peer().join("realworld/inputs")
}

fn given() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/realworld")
}

/// The arguments of a run over `file`: images, region, account, the file's parameters, and the
/// entry's own options (`extra`; a `NAME=VALUE` there is one more `--parameter`).
fn args_of(file: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--offline".to_string(),
        "--image-config".into(),
        given().join("images.json").display().to_string(),
    ];
    let params: Value =
        serde_json::from_str(&fs::read_to_string(given().join("parameters.json")).unwrap())
            .unwrap();
    let mut named: Vec<String> = vec![REGION.into(), ACCOUNT.into()];
    if let Some(Value::Object(m)) = params.get(file) {
        named.extend(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap())),
        );
    }
    for a in extra {
        if a.starts_with("--") {
            args.push(a.to_string());
        } else {
            named.push(a.to_string());
        }
    }
    for n in named {
        args.push("--parameter".into());
        args.push(n);
    }
    args
}

fn kiltx(args: &[String]) -> std::process::Output {
    hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .args(args)
        .output()
        .unwrap()
}

/// The rules of the errors `kiltx lint` finds in `file`.
fn lint_errors(args: &[String], file: &Path) -> BTreeSet<String> {
    let mut a = vec!["lint".to_string(), "--format".into(), "json".into()];
    a.extend_from_slice(args);
    a.push(file.display().to_string());
    let out = kiltx(&a);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "kiltx lint {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect()
}

fn kind_of(text: &str) -> &'static str {
    match serde_json::from_str::<Value>(text) {
        Err(_) => "cloudformation",
        Ok(Value::Array(_)) => "containers",
        Ok(Value::Object(m)) if m.contains_key("Resources") => "cloudformation",
        Ok(Value::Object(m)) if m.contains_key("taskDefinition") => "describe",
        Ok(_) => "taskdef",
    }
}

#[test]
fn the_table_is_the_corpus() {
    let mut files: Vec<String> = fs::read_dir(inputs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let table: Vec<String> = CORPUS.iter().map(|(f, _, _)| f.to_string()).collect();
    assert_eq!(files.len(), 54, "the peer README promises 54 files");
    assert_eq!(table, files, "every corpus file has one row, in order");
}

#[test]
fn every_realworld_file_patches_to_what_ecs_registers() {
    let tmp = std::env::temp_dir().join(format!("kiltx-realworld-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let mut failures = Vec::new();
    let mut pairs = Vec::new();
    let (mut wrapped_tasks, mut skipped_tasks) = (0, 0);
    for (file, extra, tasks) in CORPUS {
        let input = inputs().join(file);
        let output = tmp.join(file);
        let args = args_of(file, extra);
        let mut patch = vec!["patch".to_string()];
        patch.extend_from_slice(&args);
        patch.extend([
            input.display().to_string(),
            "-o".into(),
            output.display().to_string(),
        ]);
        let out = kiltx(&patch);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(0) {
            failures.push(format!("{file}: exit {:?}\n{stderr}", out.status.code()));
            continue;
        }
        // The summary: one line per task definition, in the document's order.
        let lines: Vec<&str> = stderr.lines().collect();
        if lines.len() != tasks.len() {
            failures.push(format!(
                "{file}: {} summary lines, expected {}:\n{stderr}",
                lines.len(),
                tasks.len()
            ));
            continue;
        }
        for (line, (label, outcome)) in lines.iter().zip(tasks.iter()) {
            let Some(rest) = line.strip_prefix(&format!("kiltx: {}: {label}: ", input.display()))
            else {
                failures.push(format!("{file}: expected task {label}: {line}"));
                continue;
            };
            let ok = match outcome {
                Wrapped(names, logs) => {
                    wrapped_tasks += 1;
                    let logs_ok = match logs {
                        Awslogs(group) => {
                            rest.contains("logs through awslogs like container")
                                && rest.contains(&format!("group {group}, stream prefix \"kiltx\""))
                        }
                        Firelens => rest.contains("logs through the task's FireLens log router"),
                        Nowhere => rest.contains(
                            "has no log configuration, and neither has any traced container",
                        ),
                    };
                    rest.starts_with(&format!("wrapped {names};")) && logs_ok
                }
                Skipped(why) => {
                    skipped_tasks += 1;
                    rest.starts_with("skipped: ") && rest.contains(why)
                }
            };
            if !ok {
                failures.push(format!("{file}: {label}: unexpected: {rest}"));
            }
        }
        // No error the input did not have (kiltx lint holds the ECS validator).
        let before = lint_errors(&args, &input);
        let after = lint_errors(&args, &output);
        let new: Vec<_> = after
            .iter()
            .filter(|e| {
                // Paths may differ where the input was a describe output; compare rule ids there.
                let rule = e.split(' ').next().unwrap();
                !before.contains(*e)
                    && !before
                        .iter()
                        .any(|b| b.starts_with(rule) && file.contains("describe"))
            })
            .collect();
        if !new.is_empty() {
            failures.push(format!(
                "{file}: kiltx lint finds new errors in the output: {new:?}"
            ));
        }
        // Patching the output again changes nothing.
        let mut check = vec!["patch".to_string(), "--check".into()];
        check.extend_from_slice(&args);
        check.push(output.display().to_string());
        let again = kiltx(&check);
        if again.status.code() != Some(0) {
            failures.push(format!(
                "{file}: patching the output again changes it: {}",
                String::from_utf8_lossy(&again.stderr)
            ));
        }
        let kind = kind_of(&fs::read_to_string(&input).unwrap());
        pairs.push(json!({"input": input, "output": output, "kind": kind}));
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{wrapped_tasks} task definitions patched, {skipped_tasks} left alone");
    // cfn-lint and botocore: no problem an input did not have.
    let (status, report) = crate::common::validate(&pairs, &tmp.join("pairs.json"));
    let _ = fs::remove_dir_all(&tmp);
    assert!(status.success(), "validators found problems:\n{report}");
    assert!(
        report.contains("new problem(s)"),
        "unexpected validator output:\n{report}"
    );
}

/// What kiltx says when a value it needs is unknown names a fix, and the fix works: the SSM
/// image of CDK's FireLens template, and the launch type given as a parameter without default.
#[test]
fn unknown_values_name_a_fix_that_works() {
    let fluent_bit = "SsmParameterValueawsserviceawsforfluentbitlatestC96584B6F00A464EAD1953AFF4B05118Parameter=public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0";
    for (file, param, says) in [
        (
            "cdk-fargate-firelens-cloudwatch.template.json",
            fluent_bit,
            "of an SSM parameter type: its value is that of the SSM parameter \"/aws/service/aws-for-fluent-bit/latest\"",
        ),
        (
            "cwinsights-prometheus-awsvpc-cfn.yaml",
            "ECSLaunchType=FARGATE",
            "its RequiresCompatibilities cannot be known: it depends on parameter ECSLaunchType",
        ),
    ] {
        let input = inputs().join(file).display().to_string();
        // Only the region and the account: what a user starts with.
        let mut args = vec!["patch".to_string()];
        args.extend(args_of("", &[]));
        args.push(input.clone());
        let out = kiltx(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(says), "{file}: {err}");
        let name = param.split('=').next().unwrap();
        assert!(err.contains(&format!("--parameter {name}=VALUE")), "{file}: {err}");
        assert!(out.stdout.is_empty(), "nothing written");
        // The fix it names.
        let mut fixed = vec!["patch".to_string()];
        fixed.extend(args_of("", &[param]));
        fixed.push(input);
        let out = kiltx(&fixed);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
