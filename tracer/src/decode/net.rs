//! Sockets: socket, connect, bind, listen, accept, accept4, and i386's
//! socketcall (which multiplexes them); socket addresses (inet, inet6, unix).
//! An accept's peer address is read at its exit stop (`accept_peer`).
//! Datagrams sent to an address (sendto, sendmsg, sendmmsg): reported only
//! when the call names a destination; the sends of a connected socket (no
//! address) produce no event (`datagram`).
use super::fdinfo;
use super::mem::read_exact;
use super::values::{flag_names, int32, FlagTable};
use super::{Call, Entry};
use crate::arch;
use crate::event::Value;
use crate::sys;
use crate::syscalls::Sys;

const SOCK_FLAGS: FlagTable = &[
    (libc::SOCK_NONBLOCK as u64, "SOCK_NONBLOCK"),
    (libc::SOCK_CLOEXEC as u64, "SOCK_CLOEXEC"),
];

/// i386 socketcall(call, args): pushes the call's name; returns the inner
/// syscall and its arguments when it is one the tracer decodes (socket()
/// is then reported as the native one is: `AF_PACKET` ones, or all in the
/// full profile). Otherwise there is no event.
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
        11 => ("sendto", Some(Sys::Sendto)),
        16 => ("sendmsg", Some(Sys::Sendmsg)),
        20 => ("sendmmsg", Some(Sys::Sendmmsg)),
        1 => ("socket", Some(Sys::Socket)),
        _ => ("other", None),
    };
    e.args.push(("call", Value::Str(name.into())));
    if inner.is_none() {
        e.report = false;
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
            // the filter stops the default profile's socket() only for
            // AF_PACKET; i386's socketcall stops for every call
            e.report = c.ctx.all_opens || a[0] as i32 == libc::AF_PACKET;
        }
        Sys::Connect | Sys::Bind => {
            v.push(("fd", int32(a[0])));
            v.push(("addr", sockaddr(tid, a[1], a[2])));
            v.push(("sock", fdinfo::sock(tid, c.fd(0))));
        }
        Sys::Listen => {
            v.push(("fd", int32(a[0])));
            v.push(("backlog", int32(a[1])));
            v.push(("sock", fdinfo::sock(tid, c.fd(0))));
        }
        Sys::Accept | Sys::Accept4 => {
            v.push(("fd", int32(a[0])));
            // the listening socket's; the accepted one has the same
            v.push(("sock", fdinfo::sock(tid, c.fd(0))));
            if c.sys == Sys::Accept4 {
                v.push(("flags", Value::Names(flag_names(a[3], SOCK_FLAGS))));
            }
            e.exit_ptrs = Some((a[1], a[2]));
        }
        _ => {} // not a socket syscall (see decode::entry)
    }
}

const MSG_FLAGS: FlagTable = &[
    (libc::MSG_OOB as u64, "MSG_OOB"),
    (libc::MSG_DONTROUTE as u64, "MSG_DONTROUTE"),
    (libc::MSG_DONTWAIT as u64, "MSG_DONTWAIT"),
    (libc::MSG_EOR as u64, "MSG_EOR"),
    (libc::MSG_CONFIRM as u64, "MSG_CONFIRM"),
    (libc::MSG_NOSIGNAL as u64, "MSG_NOSIGNAL"),
    (libc::MSG_MORE as u64, "MSG_MORE"),
    (libc::MSG_FASTOPEN as u64, "MSG_FASTOPEN"),
    (0x400_0000, "MSG_ZEROCOPY"),
];

/// `UIO_MAXIOV`: the kernel sends at most this many messages per sendmmsg.
const MMSG_MAX: u64 = 1024;

/// sendto, sendmsg, sendmmsg: an event only when a destination address is
/// given (a datagram to an address, or TCP fast open); the filter already
/// lets sendto without an address through, sendmsg's `msg_name` is in
/// memory, so it is read here. One stop, no result.
pub fn datagram(c: &Call, e: &mut Entry) {
    let (tid, a) = (c.tid, &c.a);
    let psz = arch::pointer_size(c.abi) as u64;
    let mut addrs = Vec::new();
    let (flags, extra) = match c.sys {
        Sys::Sendto => {
            if a[4] != 0 {
                addrs.push(sockaddr(tid, a[4], a[5]));
            }
            (a[3], ("len", Value::Int(a[2] as i64)))
        }
        Sys::Sendmsg => {
            if let Some((name, len)) = msg_name(tid, a[1], psz) {
                addrs.push(sockaddr(tid, name, len));
            }
            (a[2], ("len", Value::Null))
        }
        _ => {
            // struct mmsghdr: a msghdr (7 pointer-sized words, the last an
            // int rounded up) and an unsigned int, rounded up
            let stride = 8 * psz;
            let vlen = (a[2] & 0xffff_ffff).min(MMSG_MAX);
            for i in 0..vlen {
                if let Some((name, len)) = msg_name(tid, a[1].wrapping_add(i * stride), psz) {
                    let addr = sockaddr(tid, name, len);
                    if !addrs.contains(&addr) {
                        addrs.push(addr);
                    }
                }
            }
            (a[3], ("vlen", Value::Int(i64::from(a[2] as u32))))
        }
    };
    e.report = !addrs.is_empty();
    if !e.report {
        return;
    }
    let v = &mut e.args;
    v.push(("fd", int32(a[0])));
    v.push(("sock", fdinfo::sock(tid, c.fd(0))));
    if c.sys == Sys::Sendmmsg {
        v.push(("addrs", Value::List(addrs)));
    } else {
        v.push(("addr", addrs.swap_remove(0)));
    }
    if extra.1 != Value::Null {
        v.push(extra);
    }
    v.push((
        "flags",
        Value::Names(flag_names(flags & 0xffff_ffff, MSG_FLAGS)),
    ));
}

/// A msghdr's `msg_name` and `msg_namelen`, when the name is set; a msghdr
/// that cannot be read counts as named (the address shows as `null`), so an
/// unreadable one is not silently skipped.
fn msg_name(tid: i32, hdr: u64, psz: u64) -> Option<(u64, u64)> {
    let mut b = [0u8; 12];
    let n = psz as usize + 4;
    if read_exact(tid, hdr, &mut b[..n]).is_none() {
        return Some((0, 0));
    }
    let name = if psz == 8 {
        u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    } else {
        u64::from(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let len = u32::from_ne_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
    (name != 0).then_some((name, u64::from(len)))
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
