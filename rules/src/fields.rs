//! Falco's field names, their types, and which of them kiltx can supply.
//!
//! Every name a Falco rule may use for the `syscall` source is known here, so
//! that a typo is an error. A field kiltx supplies has an [`F`]; one that is
//! valid Falco but has no data under kiltx on Fargate (Kubernetes metadata,
//! capabilities, inode times, ...) is [`F::Missing`]: it loads, and it
//! evaluates as a value that cannot be extracted (its comparisons are false).

/// A field's type, which decides how its values compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    Num,
    Bool,
    /// An IP address (`fd.ip`): compared as an address.
    Ip,
    /// An IP address compared against networks (`fd.net = 10.0.0.0/8`).
    Net,
}

/// The fields kiltx extracts (see `state::extract`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum F {
    EvtType,
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso,
    EvtDatetime,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtDir,
    EvtArg,
    EvtRawarg,
    EvtArgs,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenCreate,
    EvtIsOpenExec,
    EvtHostname,
    EvtSource,
    EvtAbspath,
    EvtAbspathSrc,
    EvtAbspathDst,
    ProcPid,
    ProcPpid,
    ProcName,
    ProcExe,
    ProcExepath,
    ProcArgs,
    ProcCmdline,
    ProcCmdnargs,
    ProcCmdlenargs,
    ProcExeline,
    ProcPname,
    ProcPexe,
    ProcPexepath,
    ProcPcmdline,
    ProcAname,
    ProcApid,
    ProcAexe,
    ProcAexepath,
    ProcAcmdline,
    ProcCwd,
    ProcTty,
    ProcDuration,
    ProcPpidDuration,
    ProcStartTs,
    ProcIsExeFromMemfd,
    ProcIsExeUpperLayer,
    ThreadTid,
    ThreadIsMain,
    UserUid,
    UserName,
    UserLoginuid,
    ThreadCapEffective,
    GroupGid,
    GroupName,
    FdNum,
    FdName,
    FdNameraw,
    FdDirectory,
    FdFilename,
    FdType,
    FdTypechar,
    FdL4proto,
    FdSockfamily,
    FdSip,
    FdCip,
    FdRip,
    FdIp,
    FdSport,
    FdCport,
    FdRport,
    FdPort,
    FdNet,
    FdSnet,
    FdCnet,
    FdRnet,
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerType,
    FsPathName,
    FsPathSource,
    FsPathTarget,
    /// Valid Falco, no data under kiltx.
    Missing,
}

/// Does the field take an argument (`proc.aname[2]`, `evt.arg.flags`)?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    No,
    /// Optional.
    May,
    /// Required.
    Must,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Def {
    pub f: F,
    pub ty: Ty,
    pub arg: Arg,
}

const fn d(f: F, ty: Ty) -> Def {
    Def {
        f,
        ty,
        arg: Arg::No,
    }
}

use Ty::*;
use F::*;

/// Fields kiltx supplies.
const SUPPORTED: &[(&str, Def)] = &[
    ("evt.type", d(EvtType, Str)),
    ("syscall.type", d(EvtType, Str)),
    ("evt.num", d(EvtNum, Num)),
    ("evt.time", d(EvtTime, Str)),
    ("evt.time.s", d(EvtTimeS, Str)),
    ("evt.time.iso8601", d(EvtTimeIso, Str)),
    ("evt.datetime", d(EvtDatetime, Str)),
    ("evt.datetime.s", d(EvtDatetime, Str)),
    ("evt.rawtime", d(EvtRawtime, Num)),
    ("evt.rawtime.s", d(EvtRawtimeS, Num)),
    ("evt.rawtime.ns", d(EvtRawtimeNs, Num)),
    ("evt.res", d(EvtRes, Str)),
    ("evt.rawres", d(EvtRawres, Num)),
    ("evt.failed", d(EvtFailed, Bool)),
    ("evt.dir", d(EvtDir, Str)),
    (
        "evt.arg",
        Def {
            f: EvtArg,
            ty: Str,
            arg: Arg::Must,
        },
    ),
    (
        "evt.rawarg",
        Def {
            f: EvtRawarg,
            ty: Str,
            arg: Arg::Must,
        },
    ),
    ("evt.args", d(EvtArgs, Str)),
    ("evt.is_open_read", d(EvtIsOpenRead, Bool)),
    ("evt.is_open_write", d(EvtIsOpenWrite, Bool)),
    ("evt.is_open_create", d(EvtIsOpenCreate, Bool)),
    ("evt.is_open_exec", d(EvtIsOpenExec, Bool)),
    ("evt.hostname", d(EvtHostname, Str)),
    ("evt.source", d(EvtSource, Str)),
    ("evt.abspath", d(EvtAbspath, Str)),
    ("evt.abspath.src", d(EvtAbspathSrc, Str)),
    ("evt.abspath.dst", d(EvtAbspathDst, Str)),
    ("proc.pid", d(ProcPid, Num)),
    ("proc.vpid", d(ProcPid, Num)),
    ("proc.ppid", d(ProcPpid, Num)),
    ("proc.pvpid", d(ProcPpid, Num)),
    ("proc.name", d(ProcName, Str)),
    ("proc.exe", d(ProcExe, Str)),
    ("proc.exepath", d(ProcExepath, Str)),
    ("proc.args", d(ProcArgs, Str)),
    ("proc.cmdline", d(ProcCmdline, Str)),
    ("proc.cmdnargs", d(ProcCmdnargs, Num)),
    ("proc.cmdlenargs", d(ProcCmdlenargs, Num)),
    ("proc.exeline", d(ProcExeline, Str)),
    ("proc.pname", d(ProcPname, Str)),
    ("proc.pexe", d(ProcPexe, Str)),
    ("proc.pexepath", d(ProcPexepath, Str)),
    ("proc.pcmdline", d(ProcPcmdline, Str)),
    (
        "proc.aname",
        Def {
            f: ProcAname,
            ty: Str,
            arg: Arg::May,
        },
    ),
    (
        "proc.apid",
        Def {
            f: ProcApid,
            ty: Num,
            arg: Arg::May,
        },
    ),
    (
        "proc.aexe",
        Def {
            f: ProcAexe,
            ty: Str,
            arg: Arg::May,
        },
    ),
    (
        "proc.aexepath",
        Def {
            f: ProcAexepath,
            ty: Str,
            arg: Arg::May,
        },
    ),
    (
        "proc.acmdline",
        Def {
            f: ProcAcmdline,
            ty: Str,
            arg: Arg::May,
        },
    ),
    ("proc.cwd", d(ProcCwd, Str)),
    ("proc.tty", d(ProcTty, Num)),
    ("proc.duration", d(ProcDuration, Num)),
    ("proc.ppid.duration", d(ProcPpidDuration, Num)),
    ("proc.start_ts", d(ProcStartTs, Num)),
    ("proc.is_exe_from_memfd", d(ProcIsExeFromMemfd, Bool)),
    ("proc.is_exe_upper_layer", d(ProcIsExeUpperLayer, Bool)),
    ("thread.tid", d(ThreadTid, Num)),
    ("thread.vtid", d(ThreadTid, Num)),
    ("thread.ismain", d(ThreadIsMain, Bool)),
    ("user.uid", d(UserUid, Num)),
    ("user.name", d(UserName, Str)),
    ("user.loginuid", d(UserLoginuid, Num)),
    ("thread.cap_effective", d(ThreadCapEffective, Str)),
    ("group.gid", d(GroupGid, Num)),
    ("group.name", d(GroupName, Str)),
    ("fd.num", d(FdNum, Num)),
    ("fd.name", d(FdName, Str)),
    ("fd.nameraw", d(FdNameraw, Str)),
    ("fd.directory", d(FdDirectory, Str)),
    ("fd.filename", d(FdFilename, Str)),
    ("fd.type", d(FdType, Str)),
    ("fd.typechar", d(FdTypechar, Str)),
    ("fd.l4proto", d(FdL4proto, Str)),
    ("fd.sockfamily", d(FdSockfamily, Str)),
    ("fd.sip", d(FdSip, Ip)),
    ("fd.cip", d(FdCip, Ip)),
    ("fd.rip", d(FdRip, Ip)),
    ("fd.ip", d(FdIp, Ip)),
    ("fd.sport", d(FdSport, Num)),
    ("fd.cport", d(FdCport, Num)),
    ("fd.rport", d(FdRport, Num)),
    ("fd.port", d(FdPort, Num)),
    ("fd.net", d(FdNet, Net)),
    ("fd.snet", d(FdSnet, Net)),
    ("fd.cnet", d(FdCnet, Net)),
    ("fd.rnet", d(FdRnet, Net)),
    ("container.id", d(ContainerId, Str)),
    ("container.full_id", d(ContainerFullId, Str)),
    ("container.name", d(ContainerName, Str)),
    ("container.image", d(ContainerImage, Str)),
    (
        "container.image.repository",
        d(ContainerImageRepository, Str),
    ),
    ("container.image.tag", d(ContainerImageTag, Str)),
    ("container.image.digest", d(ContainerImageDigest, Str)),
    ("container.type", d(ContainerType, Str)),
    ("fs.path.name", d(FsPathName, Str)),
    ("fs.path.nameraw", d(FsPathName, Str)),
    ("fs.path.source", d(FsPathSource, Str)),
    ("fs.path.sourceraw", d(FsPathSource, Str)),
    ("fs.path.target", d(FsPathTarget, Str)),
    ("fs.path.targetraw", d(FsPathTarget, Str)),
];

/// Valid Falco fields with no data under kiltx: name, type, argument.
const MISSING: &[(&str, Ty, Arg)] = &[
    ("evt.cpu", Num, Arg::No),
    ("evt.latency", Num, Arg::No),
    ("evt.latency.s", Num, Arg::No),
    ("evt.latency.ns", Num, Arg::No),
    ("evt.latency.quantized", Num, Arg::No),
    ("evt.latency.human", Str, Arg::No),
    ("evt.deltatime", Num, Arg::No),
    ("evt.deltatime.s", Num, Arg::No),
    ("evt.deltatime.ns", Num, Arg::No),
    ("evt.reltime", Num, Arg::No),
    ("evt.reltime.s", Num, Arg::No),
    ("evt.reltime.ns", Num, Arg::No),
    ("evt.outputtime", Num, Arg::No),
    ("evt.info", Str, Arg::No),
    ("evt.buffer", Str, Arg::No),
    ("evt.buflen", Num, Arg::No),
    ("evt.is_io", Bool, Arg::No),
    ("evt.is_io_read", Bool, Arg::No),
    ("evt.is_io_write", Bool, Arg::No),
    ("evt.io_dir", Str, Arg::No),
    ("evt.is_wait", Bool, Arg::No),
    ("evt.wait_latency", Num, Arg::No),
    ("evt.is_syslog", Bool, Arg::No),
    ("evt.count", Num, Arg::No),
    ("evt.count.error", Num, Arg::No),
    ("evt.count.error.file", Num, Arg::No),
    ("evt.count.error.net", Num, Arg::No),
    ("evt.count.error.memory", Num, Arg::No),
    ("evt.count.error.other", Num, Arg::No),
    ("evt.count.exit", Num, Arg::No),
    ("evt.around", Num, Arg::Must),
    ("evt.category", Str, Arg::No),
    ("evt.type.is", Num, Arg::Must),
    ("evt.pluginname", Str, Arg::No),
    ("evt.plugininfo", Str, Arg::No),
    ("evt.is_async", Bool, Arg::No),
    ("evt.asynctype", Str, Arg::No),
    ("proc.sid", Num, Arg::No),
    ("proc.sname", Str, Arg::No),
    ("proc.sid.exe", Str, Arg::No),
    ("proc.sid.exepath", Str, Arg::No),
    ("proc.is_sid_leader", Bool, Arg::No),
    ("proc.vpgid", Num, Arg::No),
    ("proc.vpgid.name", Str, Arg::No),
    ("proc.vpgid.exe", Str, Arg::No),
    ("proc.vpgid.exepath", Str, Arg::No),
    ("proc.is_vpgid_leader", Bool, Arg::No),
    ("proc.pgid", Num, Arg::No),
    ("proc.pgid.name", Str, Arg::No),
    ("proc.pgid.exe", Str, Arg::No),
    ("proc.pgid.exepath", Str, Arg::No),
    ("proc.is_pgid_leader", Bool, Arg::No),
    ("proc.loginshellid", Num, Arg::No),
    ("proc.env", Str, Arg::May),
    ("proc.aenv", Str, Arg::May),
    ("proc.exe_ino", Num, Arg::No),
    ("proc.exe_ino.ctime", Num, Arg::No),
    ("proc.exe_ino.mtime", Num, Arg::No),
    ("proc.exe_ino.ctime_duration_proc_start", Num, Arg::No),
    ("proc.exe_ino.ctime_duration_pidns_start", Num, Arg::No),
    ("proc.pidns_init_start_ts", Num, Arg::No),
    ("proc.is_exe_writable", Bool, Arg::No),
    ("proc.is_container_healthcheck", Bool, Arg::No),
    ("proc.is_container_liveness_probe", Bool, Arg::No),
    ("proc.is_container_readiness_probe", Bool, Arg::No),
    ("proc.fdopencount", Num, Arg::No),
    ("proc.fdlimit", Num, Arg::No),
    ("proc.fdusage", Num, Arg::No),
    ("proc.vmsize", Num, Arg::No),
    ("proc.vmrss", Num, Arg::No),
    ("proc.vmswap", Num, Arg::No),
    ("proc.pfmajor", Num, Arg::No),
    ("proc.pfminor", Num, Arg::No),
    ("proc.nthreads", Num, Arg::No),
    ("proc.nchilds", Num, Arg::No),
    ("proc.cpu", Num, Arg::No),
    ("proc.stdin.type", Str, Arg::No),
    ("proc.stdin.name", Str, Arg::No),
    ("proc.stdout.type", Str, Arg::No),
    ("proc.stdout.name", Str, Arg::No),
    ("proc.stderr.type", Str, Arg::No),
    ("proc.stderr.name", Str, Arg::No),
    ("thread.cap_permitted", Str, Arg::No),
    ("thread.cap_inheritable", Str, Arg::No),
    ("thread.exectime", Num, Arg::No),
    ("thread.totexectime", Num, Arg::No),
    ("thread.cgroups", Str, Arg::No),
    ("thread.cgroup", Str, Arg::Must),
    ("thread.nametid", Str, Arg::No),
    ("thread.vmsize", Num, Arg::No),
    ("thread.vmrss", Num, Arg::No),
    ("thread.pfmajor", Num, Arg::No),
    ("thread.pfminor", Num, Arg::No),
    ("user.loginname", Str, Arg::No),
    ("user.homedir", Str, Arg::No),
    ("user.shell", Str, Arg::No),
    ("fd.connected", Bool, Arg::No),
    ("fd.name_changed", Bool, Arg::No),
    ("fd.sip.name", Str, Arg::No),
    ("fd.cip.name", Str, Arg::No),
    ("fd.lip.name", Str, Arg::No),
    ("fd.rip.name", Str, Arg::No),
    ("fd.lip", Ip, Arg::No),
    ("fd.lport", Num, Arg::No),
    ("fd.lnet", Net, Arg::No),
    ("fd.cproto", Str, Arg::No),
    ("fd.sproto", Str, Arg::No),
    ("fd.lproto", Str, Arg::No),
    ("fd.rproto", Str, Arg::No),
    ("fd.proto", Str, Arg::No),
    ("fd.dev", Num, Arg::No),
    ("fd.dev_major", Num, Arg::No),
    ("fd.dev_minor", Num, Arg::No),
    ("fd.ino", Num, Arg::No),
    ("fd.uid", Str, Arg::No),
    ("fd.containername", Str, Arg::No),
    ("fd.containerdirectory", Str, Arg::No),
    ("fd.is_upper_layer", Bool, Arg::No),
    ("fd.is_lower_layer", Bool, Arg::No),
    ("fd.is_server", Bool, Arg::No),
    ("fd.types", Str, Arg::May),
    ("fd.cip.name", Str, Arg::No),
    ("container.privileged", Bool, Arg::No),
    ("container.start_ts", Num, Arg::No),
    ("container.duration", Num, Arg::No),
    ("container.mounts", Str, Arg::No),
    ("container.mount", Str, Arg::Must),
    ("container.mount.source", Str, Arg::Must),
    ("container.mount.dest", Str, Arg::Must),
    ("container.mount.mode", Str, Arg::Must),
    ("container.mount.rdwr", Str, Arg::Must),
    ("container.mount.propagation", Str, Arg::Must),
    ("container.image.id", Str, Arg::No),
    ("container.healthcheck", Str, Arg::No),
    ("container.liveness_probe", Str, Arg::No),
    ("container.readiness_probe", Str, Arg::No),
    ("container.ip", Ip, Arg::No),
    ("container.cni.json", Str, Arg::No),
    ("container.host_pid", Bool, Arg::No),
    ("container.host_network", Bool, Arg::No),
    ("container.host_ipc", Bool, Arg::No),
    ("container.label", Str, Arg::Must),
    ("container.labels", Str, Arg::No),
    ("container.cpu.shares", Num, Arg::No),
    ("container.cpu.quota", Num, Arg::No),
    ("container.cpu.period", Num, Arg::No),
    ("container.cpu.cpuset_cpu_count", Num, Arg::No),
    ("container.memory.limit", Num, Arg::No),
    ("container.swap.limit", Num, Arg::No),
];

/// Families whose every field is valid Falco and missing under kiltx
/// (Kubernetes and the older orchestrators; kiltx runs on ECS Fargate).
const MISSING_PREFIXES: &[&str] = &["k8s.", "mesos.", "marathon."];

/// Look a field name up; `None` if Falco does not know it.
pub fn lookup(name: &str) -> Option<Def> {
    if let Some((_, def)) = SUPPORTED.iter().find(|(n, _)| *n == name) {
        return Some(*def);
    }
    if let Some((_, ty, arg)) = MISSING.iter().find(|(n, ..)| *n == name) {
        return Some(Def {
            f: Missing,
            ty: *ty,
            arg: *arg,
        });
    }
    if MISSING_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Some(Def {
            f: Missing,
            ty: Str,
            arg: Arg::May,
        });
    }
    None
}

/// A field as written (`evt.arg.flags` is `evt.arg` with the argument
/// `flags`): its definition and argument.
pub fn resolve(name: &str, arg: Option<&str>) -> Result<(Def, Option<String>), String> {
    for (prefix, base) in [("evt.arg.", "evt.arg"), ("evt.rawarg.", "evt.rawarg")] {
        if let Some(a) = name.strip_prefix(prefix) {
            if arg.is_some() {
                return Err(format!("field '{name}' does not take an argument"));
            }
            let def = lookup(base).expect("evt.arg is known");
            return Ok((def, Some(a.to_string())));
        }
    }
    let def = lookup(name).ok_or_else(|| format!("nonexistent field {name}"))?;
    match (def.arg, arg) {
        (Arg::No, Some(_)) => Err(format!("field '{name}' does not take an argument")),
        (Arg::Must, None) => Err(format!("field '{name}' requires an argument")),
        _ => Ok((def, arg.map(str::to_string))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_arguments_and_missing() {
        assert_eq!(resolve("proc.name", None).unwrap().0.f, ProcName);
        let (d, a) = resolve("evt.arg.flags", None).unwrap();
        assert_eq!((d.f, a.as_deref()), (EvtArg, Some("flags")));
        assert_eq!(resolve("proc.aname", Some("2")).unwrap().0.f, ProcAname);
        assert_eq!(resolve("k8s.ns.name", None).unwrap().0.f, Missing);
        assert_eq!(resolve("thread.cap_permitted", None).unwrap().0.f, Missing);
        assert!(resolve("proc.nmae", None)
            .unwrap_err()
            .contains("nonexistent field"));
        assert!(resolve("proc.name", Some("1")).is_err());
    }
}
