//! The rules `kiltx lint` checks: an ID, a name, a default severity and the help people read.

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// `KX001`, ...; stable.
    pub id: &'static str,
    /// A short kebab-case name; stable.
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: &'static str,
    /// One paragraph: why it matters and how to fix it.
    pub help: &'static str,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $name:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(pub const $konst: &Rule = &Rule {
            id: $id,
            name: $name,
            severity: Severity::$sev,
            summary: $summary,
            help: $help,
        };)*
        /// Every rule, in ID order.
        pub const RULES: &[&Rule] = &[$($konst),*];
    };
}

rules! {
    NOT_INSTRUMENTED = "KX001", "not-instrumented", Error,
        "a selected Fargate container is not wrapped by the tracer",
        "The task definition is selected for monitoring (Fargate, not tagged kilt-ignore, and in --opt-in mode tagged kilt-include) but this container's process is not started under the tracer, so it would run unmonitored. Run `kiltx patch` on the file (in CI: `kiltx patch --check`), or, if the container must not be traced, tag the task definition `kilt-ignore` or list the container in a `kilt-ignore-containers` tag.";
    OTHER_TOOL = "KX002", "instrumented-by-another-tool", Warning,
        "the container is instrumented by another tool (e.g. Kilt's /kilt/run)",
        "The container's process is wrapped by a launcher that is not the one of the kiltx definition in use (Kilt's `/kilt/run`, Sysdig's `/opt/draios/bin/instrument`, or a sidecar whose volume it mounts with SYS_PTRACE). kiltx does not verify that instrumentation, and `kiltx patch` would wrap the container a second time. Remove the other tool's instrumentation and run `kiltx patch`, or lint with the other tool's recipe as the definition (`--definition`), or suppress this rule while you migrate.";
    SIDECAR_MISSING = "KX003", "tracer-sidecar-missing", Error,
        "containers are wrapped but the tracer sidecar is missing",
        "A container runs under the tracer's launcher, but the task has no container of the definition's sidecar, which provides the launcher binary (through volumesFrom) and receives the events. The task would fail to start the wrapped container. Run `kiltx patch` to add the sidecar, or restore the container's original entryPoint/command.";
    VOLUME_MISSING = "KX004", "tracer-volume-missing", Error,
        "a wrapped container does not mount the tracer sidecar's volume",
        "The container's entryPoint is the tracer's launcher, which lives in the sidecar's volume; without a `volumesFrom` entry for the sidecar the file does not exist and the container fails to start. Add `{sourceContainer: <sidecar>, readOnly: true}` to volumesFrom, or run `kiltx patch`, which adds it.";
    PTRACE_MISSING = "KX005", "ptrace-missing", Error,
        "a wrapped container lacks the SYS_PTRACE capability",
        "The tracer follows the application with ptrace, which Fargate allows only with the SYS_PTRACE capability in `linuxParameters.capabilities.add`. Without it the tracer cannot attach and the container runs unmonitored (or fails). Add SYS_PTRACE, or run `kiltx patch`, which adds it.";
    SIDECAR_ESSENTIAL = "KX006", "sidecar-essential-mismatch", Error,
        "the tracer sidecar's `essential` differs from the definition",
        "The definition says whether the sidecar is essential: an essential sidecar stops the whole task when the tracer exits, a non-essential one lets the application run on. A sidecar whose `essential` differs from the definition changes that availability trade-off silently. Set `essential` as the definition says, or run `kiltx patch`, which reconciles the sidecar.";
    DEPENDS_ON_MISSING = "KX007", "depends-on-missing", Warning,
        "a wrapped container does not wait for the tracer sidecar",
        "The definition makes each wrapped container depend on the sidecar (`dependsOn` with a condition such as START), so that the collector runs before the application starts. Without it the first events (or the application's start, when the launcher cannot connect) may be lost. Add the dependsOn entry, or run `kiltx patch`, which adds it.";
    ARGV_LOST = "KX008", "argv-lost", Error,
        "the wrapped container's original command line is lost",
        "The container is wrapped, but what the launcher runs is empty, or is the launcher again (wrapped twice). The container would not run its application. Restore the container's original entryPoint/command (or the image's ENTRYPOINT/CMD) and run `kiltx patch` once.";
    ARGV_DIFFERS = "KX009", "argv-differs-from-image", Warning,
        "the wrapped command line runs the image's CMD without its ENTRYPOINT",
        "The image's ENTRYPOINT and CMD are known (from --image-config), and the command line the launcher runs starts with the image's CMD program instead of its ENTRYPOINT: a tool that wrapped the container kept the command but dropped the image's ENTRYPOINT, so the application starts without it (e.g. nginx without /docker-entrypoint.sh). Restore the container's original entryPoint/command and run `kiltx patch`; if the entrypoint was overridden on purpose, suppress this finding for the resource.";
    IMAGE_UNKNOWN = "KX010", "image-config-unknown", Error,
        "kiltx patch cannot rebuild the argv: no entryPoint and the image's ENTRYPOINT/CMD are unknown",
        "The container has no entryPoint, so its process is the image's ENTRYPOINT/CMD, which kiltx does not know (this version does not query registries). `kiltx patch` refuses to guess and fails. Set EntryPoint (and Command) on the container, or give the image's configuration with `--image-config FILE` (JSON: {\"IMAGE\": {\"entrypoint\": [...], \"cmd\": [...]}}).";
    IMAGE_UNRESOLVED = "KX011", "image-unresolved", Error,
        "the image is a parameter or expression kiltx cannot resolve, and there is no entryPoint",
        "The container has no entryPoint and its image is an intrinsic function (`Ref`, `Fn::Sub`, ...) whose value kiltx cannot know, so the image's ENTRYPOINT/CMD cannot be looked up and `kiltx patch` fails. Set EntryPoint (and Command) on the container, give the parameter a Default or a value with `--parameter NAME=VALUE` (and its image with --image-config).";
    PATCH_FAILS = "KX012", "patch-would-fail", Error,
        "kiltx patch would fail on this task definition",
        "`kiltx patch` reports an error here (the message says which and how to fix it): for example a selection tag whose value is an intrinsic function, a container that drops SYS_PTRACE, a container already wrapped differently, a container named like the sidecar, or a conflicting pidMode. Fix the task definition as the message says.";
    FARGATE_CAPABILITY = "KX020", "fargate-capability", Error,
        "Fargate rejects added capabilities other than SYS_PTRACE",
        "On Fargate, `linuxParameters.capabilities.add` accepts only SYS_PTRACE; registering a task definition that adds anything else (SYS_ADMIN, NET_ADMIN, ...) fails. Remove the other capabilities, or run the task on EC2.";
    FARGATE_PRIVILEGED = "KX021", "fargate-privileged", Error,
        "Fargate does not support privileged containers",
        "`privileged: true` is rejected for Fargate task definitions. Remove it; if the container needs ptrace, SYS_PTRACE is the only capability Fargate allows.";
    FARGATE_PID_HOST = "KX022", "fargate-pid-mode-host", Error,
        "Fargate does not support pidMode host",
        "Fargate accepts only `pidMode: task` (or none). Use `task`, which lets containers of the task see each other's processes.";
    FARGATE_IPC = "KX023", "fargate-ipc-mode", Error,
        "Fargate does not support ipcMode",
        "`ipcMode` is not supported for Fargate task definitions; registering one that sets it fails. Remove ipcMode.";
    UNKNOWN_REFERENCE = "KX024", "unknown-container-reference", Error,
        "volumesFrom, dependsOn or links names a container the task does not have",
        "ECS rejects a task definition whose volumesFrom.sourceContainer, dependsOn.containerName or links name a container that is not in the task definition. Fix the name, or add the container.";
    DUPLICATE_NAME = "KX025", "duplicate-container-name", Error,
        "two containers have the same name",
        "Container names must be unique within a task definition; ECS rejects duplicates (and kiltx cannot tell the containers apart). Rename one of them.";
    NO_ESSENTIAL = "KX026", "no-essential-container", Error,
        "no container is essential",
        "A task definition needs at least one essential container (`essential` defaults to true); ECS rejects one whose containers all say `essential: false`. Mark the application container essential.";
    CONTAINER_NAME = "KX027", "container-name-invalid", Error,
        "a container name ECS rejects",
        "ECS accepts container names of 1 to 255 letters, digits, hyphens and underscores; RegisterTaskDefinition fails on any other. Rename the container (and every dependsOn, volumesFrom and links entry that names it).";
    DEPENDENCY = "KX028", "container-dependency-invalid", Error,
        "a container dependency ECS rejects or that can never be met",
        "A container waits for another through dependsOn, volumesFrom or links. It must not name itself or form a cycle (none of the containers on it could start); COMPLETE and SUCCESS are for containers that are not essential (an essential container's exit stops the task); HEALTHY needs the named container to have a healthCheck; the condition is one of START, COMPLETE, SUCCESS, HEALTHY. Fix the dependsOn entry or the container it names.";
    PTRACE_UNTRACED = "KX030", "ptrace-without-tracing", Warning,
        "SYS_PTRACE is granted to a container that is not traced",
        "SYS_PTRACE lets a process inspect and control other processes of the task. The tracer needs it in the containers it wraps; a container that is not wrapped (not selected, or listed in kilt-ignore-containers) does not, and should not hold it. Remove SYS_PTRACE from the container, or select it for tracing.";
    SECRET_NAME = "KX040", "credential-in-environment", Warning,
        "an environment variable named like a credential has a literal value",
        "Variables such as *_KEY, *_SECRET, *_TOKEN or *PASSWORD given as plain `environment` values are stored in the task definition, visible to anyone who can describe it, and end up in version control. Move the value to AWS Secrets Manager or SSM Parameter Store and reference it from the container's `secrets` (name + valueFrom ARN), or use a CloudFormation dynamic reference / NoEcho parameter.";
    SECRET_VALUE = "KX041", "credential-value-in-environment", Error,
        "an environment variable's value is a credential (AWS access key, private key, token)",
        "The value has the form of a real credential (an AWS access key ID AKIA…/ASIA…, a PEM private key, a GitHub or Slack token, a Stripe live key). It is readable by anyone who can describe the task definition or read the file. Revoke it, store the new one in Secrets Manager or SSM Parameter Store and reference it from `secrets`.";
    SIDECAR_LOGS = "KX042", "sidecar-output-discarded", Warning,
        "the tracer sidecar of a Fargate task has no log configuration",
        "The sidecar prints the events (and alerts) on its standard output, and on Fargate a container without a logConfiguration has its output discarded: the task is traced, but nobody will ever see what happened. kiltx patch gives the sidecar the log configuration of the traced containers when they have one. Give the sidecar a logConfiguration (awslogs with a log group, or awsfirelens through the task's log router), e.g. with kiltx patch --log-group GROUP or in the definition.";
    ARCHITECTURE = "KX050", "tracer-architecture", Error,
        "the task runs on ARM64 but the tracer image is declared x86_64-only",
        "The task's runtimePlatform.cpuArchitecture is ARM64, but the definition declares the tracer sidecar's image for other architectures only. The sidecar would fail with an exec format error and the wrapped containers with it. Run the task on X86_64, or use a tracer image built for ARM64 (kiltx's own is an index for both: tracer/image/build.sh) and declare it in the definition's `architectures`.";
    TASK_SIZE = "KX060", "task-size-invalid", Error,
        "the task's cpu and memory are missing or not a Fargate task size",
        "A Fargate task definition needs task-level cpu and memory, and the pair must be one of Fargate's sizes: 256 CPU units with 512, 1024 or 2048 MiB; 512 with 1024-4096 MiB; 1024 with 2048-8192; 2048 with 4096-16384; 4096 with 8192-30720 (steps of 1024); 8192 with 16384-61440 (steps of 4096); 16384 with 32768-122880 (steps of 8192); Windows only 1, 2 or 4 vCPU. RegisterTaskDefinition rejects any other. Choose the next valid size up.";
    CPU_BUDGET = "KX061", "container-cpu-over-budget", Error,
        "the containers' cpu adds up to more than the task's",
        "ECS requires the cpu of all containers together to be at most the task-level cpu; RegisterTaskDefinition fails otherwise. Lower a container's cpu (on Fargate it may be left out, so that the container shares what the others leave), or raise the task's cpu to a larger valid size.";
    MEMORY_BUDGET = "KX062", "container-memory-over-budget", Error,
        "the containers' memory does not fit the task's",
        "ECS requires the containers' memoryReservation values to add up to at most the task's memory, each container's hard memory limit to be at most the task's, a container's memoryReservation to be at most its memory, and, when the task has no memory (EC2), every container to have memory or memoryReservation. Lower the containers' reservations (on Fargate they may be left out) or raise the task's memory to a larger valid size.";
    NETWORK_MODE = "KX063", "network-mode-constraint", Error,
        "a setting the task's network mode does not allow",
        "Fargate runs only the awsvpc network mode. links work only in bridge mode. In awsvpc and host modes a port mapping's hostPort must equal its containerPort (or be left out), and in awsvpc a container cannot set hostname. Change the setting or the task's networkMode.";
    OS_FAMILY = "KX064", "os-family-field", Error,
        "a Linux-only setting in a Windows task",
        "Windows containers do not support linuxParameters, user, readonlyRootFilesystem, privileged, systemControls or ulimits, and Windows tasks do not support pidMode or ipcMode; ECS rejects or ignores them. Remove the setting, or check runtimePlatform.operatingSystemFamily.";
    FARGATE_UNSUPPORTED = "KX065", "fargate-unsupported-setting", Error,
        "a setting Fargate does not support",
        "Fargate does not support placementConstraints, Docker volumes (dockerVolumeConfiguration), host-path volumes (host.sourcePath), or the linuxParameters devices, sharedMemorySize and tmpfs. RegisterTaskDefinition rejects them for a FARGATE task definition. Use EFS or bind mounts without a host path, or run on EC2.";
    FIRELENS_ROUTER = "KX066", "firelens-without-router", Error,
        "a container logs to FireLens but the task has no log router",
        "A container whose logConfiguration uses the awsfirelens driver sends its output to the task's FireLens log router, a container with firelensConfiguration (Fluent Bit or Fluentd). Without one ECS rejects the task definition. Add the log router container, or use another log driver.";
    BAD_SUPPRESSION = "KX090", "bad-suppression", Warning,
        "a suppression names an unknown rule or is malformed",
        "Suppressions are `Metadata: {kiltx: {ignore: [KX003, ...]}}` on a resource or at the top of a template, and `--ignore KX003` on the command line; rules are named by ID (KX003) or name (tracer-sidecar-missing). An unknown rule suppresses nothing and is probably a typo. Fix the name (`kiltx lint --list-rules` lists them).";
}

/// The rule with this ID or name (case-insensitive).
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    let s = id_or_name.trim();
    RULES
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(s) || r.name.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_ordered() {
        for w in RULES.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].id, w[1].id);
        }
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
        assert_eq!(find("kx003"), Some(SIDECAR_MISSING));
        assert_eq!(find("tracer-sidecar-missing"), Some(SIDECAR_MISSING));
        assert_eq!(find("KX999"), None);
    }
}
