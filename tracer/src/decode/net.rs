//! Sockets: socket, connect, bind, listen, accept, accept4, and i386's
//! socketcall (which multiplexes them); socket addresses (inet, inet6, unix).
//! An accept's peer address is read at its exit stop (`accept_peer`).
use super::mem::read_exact;
use super::values::{flag_names, int32, FlagTable};
use super::{Call, Entry};
use crate::event::Value;
use crate::sys;
use crate::syscalls::Sys;

const SOCK_FLAGS: FlagTable = &[
    (libc::SOCK_NONBLOCK as u64, "SOCK_NONBLOCK"),
    (libc::SOCK_CLOEXEC as u64, "SOCK_CLOEXEC"),
];

/// i386 socketcall(call, args): pushes the call's name; returns the inner
/// syscall and its arguments when it is one the tracer decodes. Otherwise
/// there is no event, except for socket() in the full profile (like the
/// native socket syscall).
pub fn socketcall(c: &Call, e: &mut Entry) -> Option<(Sys, [u64; 6])> {
    // args[0] is the call, args[1] points to its u32 arguments
    let call = c.a[0];
    let mut raw = [0u8; 24];
    let mut argv = [0u64; 6];
    if read_exact(c.tid, c.a[1], &mut raw).is_some() {
        for (i, w) in raw.chunks_exact(4).enumerate() {
            argv[i] = u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
        }
    }
    let (name, inner) = match call {
        2 => ("bind", Some(Sys::Bind)),
        3 => ("connect", Some(Sys::Connect)),
        4 => ("listen", Some(Sys::Listen)),
        5 => ("accept", Some(Sys::Accept)),
        18 => ("accept4", Some(Sys::Accept4)),
        1 => ("socket", None),
        _ => ("other", None),
    };
    e.args.push(("call", Value::Str(name.into())));
    if inner.is_none() {
        e.report = call == 1 && c.ctx.all_opens;
    }
    inner.map(|s| (s, argv))
}

pub fn decode(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    match c.sys {
        Sys::Socket => {
            v.push(("domain", domain(a[0])));
            v.push(("type", sock_type(a[1])));
            v.push(("protocol", int32(a[2])));
        }
        Sys::Connect | Sys::Bind => {
            v.push(("fd", int32(a[0])));
            v.push(("addr", sockaddr(tid, a[1], a[2])));
        }
        Sys::Listen => {
            v.push(("fd", int32(a[0])));
            v.push(("backlog", int32(a[1])));
        }
        Sys::Accept | Sys::Accept4 => {
            v.push(("fd", int32(a[0])));
            if c.sys == Sys::Accept4 {
                v.push(("flags", Value::Names(flag_names(a[3], SOCK_FLAGS))));
            }
            e.exit_ptrs = Some((a[1], a[2]));
        }
        _ => {} // not a socket syscall (see decode::entry)
    }
}

/// socket()'s domain: the common ones by name, others as a number.
fn domain(v: u64) -> Value {
    let dom = match v as i32 {
        libc::AF_UNIX => "AF_UNIX",
        libc::AF_INET => "AF_INET",
        libc::AF_INET6 => "AF_INET6",
        libc::AF_NETLINK => "AF_NETLINK",
        libc::AF_PACKET => "AF_PACKET",
        _ => return int32(v),
    };
    Value::Str(dom.into())
}

/// socket()'s type (without SOCK_NONBLOCK/SOCK_CLOEXEC): by name, or the
/// whole argument as a number.
fn sock_type(v: u64) -> Value {
    let ty = match (v as i32) & 0xf {
        libc::SOCK_STREAM => "SOCK_STREAM",
        libc::SOCK_DGRAM => "SOCK_DGRAM",
        libc::SOCK_RAW => "SOCK_RAW",
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET",
        _ => return int32(v),
    };
    Value::Str(ty.into())
}

/// Decode a socket address of `len` bytes at `addr`.
fn sockaddr(pid: i32, addr: u64, len: u64) -> Value {
    if addr == 0 {
        return Value::Null;
    }
    let len = (len as usize).min(128);
    if len < 2 {
        return Value::Null;
    }
    let mut buf = [0u8; 128];
    if sys::read_mem(pid, addr, &mut buf[..len]).ok() != Some(len) {
        return Value::Null;
    }
    let b = &buf[..len];
    let family = u16::from_ne_bytes([b[0], b[1]]);
    match i32::from(family) {
        libc::AF_INET if len >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Value::Obj(vec![
                ("family", Value::Str("inet".into())),
                ("address", Value::Str(ip.to_string())),
                ("port", Value::Int(i64::from(port))),
            ])
        }
        libc::AF_INET6 if len >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[8..24]);
            let ip = std::net::Ipv6Addr::from(o);
            Value::Obj(vec![
                ("family", Value::Str("inet6".into())),
                ("address", Value::Str(ip.to_string())),
                ("port", Value::Int(i64::from(port))),
            ])
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            let (abstract_, p) = match path.first() {
                Some(0) if len > 2 => (true, &path[1..]),
                _ => (false, path),
            };
            let end = if abstract_ {
                p.len()
            } else {
                p.iter().position(|&c| c == 0).unwrap_or(p.len())
            };
            let mut s = if abstract_ {
                String::from("@")
            } else {
                String::new()
            };
            s.push_str(&String::from_utf8_lossy(&p[..end]));
            Value::Obj(vec![
                ("family", Value::Str("unix".into())),
                ("path", Value::Str(s)),
            ])
        }
        libc::AF_UNSPEC => Value::Obj(vec![("family", Value::Str("unspec".into()))]),
        f => Value::Obj(vec![("family", Value::Int(i64::from(f)))]),
    }
}

/// At the exit of a successful accept: the peer address.
pub fn accept_peer(tid: i32, addr: u64, addrlen_ptr: u64) -> Value {
    if addr == 0 || addrlen_ptr == 0 {
        return Value::Null;
    }
    let mut l = [0u8; 4];
    if read_exact(tid, addrlen_ptr, &mut l).is_none() {
        return Value::Null;
    }
    sockaddr(tid, addr, u64::from(u32::from_ne_bytes(l)))
}
