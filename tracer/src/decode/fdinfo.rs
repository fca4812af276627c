//! What a tracee's descriptor is: the socket behind it (family, type and
//! layer-4 protocol, for connect/bind/listen/accept, datagrams and dup2), and
//! its kind in Falco's words (`fd.type`: "ipv4", "unix", "file", "pipe",
//! ...). Read through /proc and the kernel's socket attributes, never by
//! running anything in the tracee.
use super::mem::lossy;
use crate::event::Value;
use crate::sys;

/// (family, SO_TYPE name, l4proto) for a kernel protocol name. `None` type:
/// the name alone does not tell (AF_UNIX's "UNIX" is a datagram or
/// seqpacket socket, or a stream one before Linux 5.15).
fn from_proto_name(name: &str) -> (Value, Option<&'static str>, Option<&'static str>) {
    const S: Option<&str> = Some("SOCK_STREAM");
    const D: Option<&str> = Some("SOCK_DGRAM");
    const R: Option<&str> = Some("SOCK_RAW");
    let (fam, ty, l4) = match name {
        "TCP" | "MPTCP" => ("inet", S, Some("tcp")),
        "TCPv6" | "MPTCPv6" => ("inet6", S, Some("tcp")),
        "UDP" | "UDP-Lite" => ("inet", D, Some("udp")),
        "UDPv6" | "UDPLITEv6" => ("inet6", D, Some("udp")),
        "PING" => ("inet", D, Some("icmp")),
        "PINGv6" => ("inet6", D, Some("icmp")),
        "RAW" => ("inet", R, Some("raw")),
        "RAWv6" => ("inet6", R, Some("raw")),
        "SCTP" => ("inet", None, None),
        "SCTPv6" => ("inet6", None, None),
        "UNIX-STREAM" => ("unix", S, None),
        "UNIX" => ("unix", None, None),
        "NETLINK" => ("netlink", None, None),
        "PACKET" => ("packet", None, None),
        other => return (Value::Str(other.to_ascii_lowercase()), None, None),
    };
    (Value::Str(fam.into()), ty, l4)
}

/// The leader of `tid`'s thread group (whose pid `pidfd_open` takes), when
/// its descriptor `fd` is the same socket as `tid`'s (threads share their
/// descriptors unless created without `CLONE_FILES`).
fn leader_sharing(tid: i32, fd: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let tgid: i32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()?;
    if tgid == tid {
        return Some(tid);
    }
    let link = |t: i32| std::fs::read_link(format!("/proc/{t}/fd/{fd}")).ok();
    let same = link(tid).is_some() && link(tid) == link(tgid);
    same.then_some(tgid)
}

fn type_name(t: i32) -> Option<&'static str> {
    Some(match t {
        libc::SOCK_STREAM => "SOCK_STREAM",
        libc::SOCK_DGRAM => "SOCK_DGRAM",
        libc::SOCK_RAW => "SOCK_RAW",
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET",
        libc::SOCK_RDM => "SOCK_RDM",
        _ => return None,
    })
}

/// The socket behind descriptor `fd` of `tid`, as
/// `{"family":"inet","type":"SOCK_STREAM","l4proto":"tcp"}` (`l4proto`:
/// Falco's `fd.l4proto`, "tcp", "udp", "icmp" or "raw", `null` for other
/// families; `type` `null` when it cannot be told); `null` when `fd` is not
/// a socket.
pub fn sock(tid: i32, fd: i32) -> Value {
    if fd < 0 {
        return Value::Null;
    }
    let Some(name) = sys::sock_proto_name(tid, fd) else {
        return Value::Null;
    };
    let (family, mut ty, l4) = from_proto_name(&name);
    if ty.is_none() {
        // ask the socket itself (pidfd_open takes a thread group's leader)
        ty = sys::sock_type_of(tid, fd)
            .or_else(|| {
                let leader = leader_sharing(tid, fd).filter(|&l| l != tid)?;
                sys::sock_type_of(leader, fd)
            })
            .and_then(type_name);
    }
    Value::Obj(vec![
        ("family", family),
        (
            "type",
            ty.map(|t| Value::Str(t.into())).unwrap_or(Value::Null),
        ),
        (
            "l4proto",
            l4.map(|t| Value::Str(t.into())).unwrap_or(Value::Null),
        ),
    ])
}

/// Falco's `fd.type` for a socket's family.
fn sock_fd_type(sock: &Value) -> &'static str {
    let fam = match sock {
        Value::Obj(f) => f.iter().find(|(k, _)| *k == "family").map(|(_, v)| v),
        _ => None,
    };
    match fam {
        Some(Value::Str(f)) if f == "inet" => "ipv4",
        Some(Value::Str(f)) if f == "inet6" => "ipv6",
        Some(Value::Str(f)) if f == "unix" => "unix",
        Some(Value::Str(f)) if f == "netlink" => "netlink",
        _ => "socket",
    }
}

/// What descriptor `fd` of `tid` is, in Falco's `fd.type` words: "ipv4",
/// "ipv6", "unix", "netlink", "socket" (another family), "file",
/// "directory", "pipe", "memfd", "event", "signalfd", "eventpoll",
/// "inotify", "timerfd", "userfaultfd", "io_uring", "pidfd", "bpf"; `null`
/// when it is not open (or not known). With the socket, when it is one.
pub fn fd_kind(tid: i32, fd: i32) -> (Value, Value) {
    if fd < 0 {
        return (Value::Null, Value::Null);
    }
    let link = match std::fs::read_link(format!("/proc/{tid}/fd/{fd}")) {
        Ok(l) => {
            use std::os::unix::ffi::OsStringExt;
            l.into_os_string().into_vec()
        }
        Err(_) => return (Value::Null, Value::Null),
    };
    let kind = if link.starts_with(b"socket:") {
        let s = sock(tid, fd);
        let k = sock_fd_type(&s);
        return (Value::Str(k.into()), s);
    } else if link.starts_with(b"pipe:") {
        "pipe"
    } else if link.starts_with(b"/memfd:") {
        "memfd"
    } else if let Some(anon) = link.strip_prefix(b"anon_inode:") {
        let anon = lossy(anon);
        let a = anon.trim_start_matches('[').trim_end_matches(']');
        match a {
            "eventfd" => "event",
            "signalfd" => "signalfd",
            "eventpoll" => "eventpoll",
            "inotify" => "inotify",
            "timerfd" => "timerfd",
            "userfaultfd" => "userfaultfd",
            "io_uring" => "io_uring",
            "pidfd" => "pidfd",
            _ if a.starts_with("bpf") => "bpf",
            _ => return (Value::Str(format!("anon_inode:{a}")), Value::Null),
        }
    } else if link.first() == Some(&b'/') {
        match std::fs::metadata(format!("/proc/{tid}/fd/{fd}")) {
            Ok(m) if m.is_dir() => "directory",
            _ => "file",
        }
    } else {
        return (Value::Null, Value::Null);
    };
    (Value::Str(kind.into()), Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names() {
        let (f, t, l) = from_proto_name("TCPv6");
        assert_eq!(
            (f, t, l),
            (Value::Str("inet6".into()), Some("SOCK_STREAM"), Some("tcp"))
        );
        let (f, t, l) = from_proto_name("UNIX");
        assert_eq!((f, t, l), (Value::Str("unix".into()), None, None));
        assert_eq!(from_proto_name("PINGv6").2, Some("icmp"));
        assert_eq!(from_proto_name("XDP").0, Value::Str("xdp".into()));
    }
}
