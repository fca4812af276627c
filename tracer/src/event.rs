//! Events and their JSON encoding (one object per line). Encoding runs on the
//! writer thread, never while a tracee is stopped.
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Strs(Vec<String>),
    Names(Vec<std::borrow::Cow<'static, str>>),
    Obj(Vec<(&'static str, Value)>),
    List(Vec<Value>),
}

/// Identity of the task an event is about, as known to the tracer.
#[derive(Clone, Debug)]
pub struct Who {
    pub pid: i32,
    pub tid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub comm: Arc<str>,
    pub exe: Arc<str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The result was not captured (one stop only).
    NotCaptured,
    Ok(i64),
    Err(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Syscall,
    Process,
    Stats,
    Tracer,
    /// The stream's first event: where the events come from (`meta`).
    Meta,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Syscall => "syscall",
            Kind::Process => "process",
            Kind::Stats => "stats",
            Kind::Tracer => "tracer",
            Kind::Meta => "meta",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub ts: (i64, u32),
    pub seq: u64,
    pub kind: Kind,
    pub who: Option<Who>,
    pub syscall: &'static str,
    pub abi: &'static str,
    pub args: Vec<(&'static str, Value)>,
    pub outcome: Outcome,
    /// A name a rule can key on (`io_uring`); not encoded when `None`.
    pub alert: Option<&'static str>,
}

impl Event {
    pub fn new(kind: Kind, seq: u64, syscall: &'static str) -> Event {
        Event {
            ts: crate::sys::now(),
            seq,
            kind,
            who: None,
            syscall,
            abi: "",
            args: Vec::new(),
            outcome: Outcome::NotCaptured,
            alert: None,
        }
    }

    /// Append the JSON line (with '\n') to `out`.
    pub fn encode(&self, container: Option<&str>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"ts\":\"");
        rfc3339(self.ts, out);
        out.extend_from_slice(b"\",\"seq\":");
        push_u64(out, self.seq);
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(self.kind.name().as_bytes());
        out.extend_from_slice(b"\",\"container\":");
        match container {
            Some(c) => push_str(out, c),
            None => out.extend_from_slice(b"null"),
        }
        if let Some(w) = &self.who {
            for (k, v) in [("pid", w.pid), ("tid", w.tid), ("ppid", w.ppid)] {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(k.as_bytes());
                out.extend_from_slice(b"\":");
                push_i64(out, i64::from(v));
            }
            for (k, v) in [
                ("uid", w.uid),
                ("gid", w.gid),
                ("euid", w.euid),
                ("egid", w.egid),
            ] {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(k.as_bytes());
                out.extend_from_slice(b"\":");
                push_u64(out, u64::from(v));
            }
            out.extend_from_slice(b",\"comm\":");
            push_str(out, &w.comm);
            out.extend_from_slice(b",\"exe\":");
            push_str(out, &w.exe);
        }
        if !self.syscall.is_empty() {
            out.extend_from_slice(b",\"syscall\":");
            push_str(out, self.syscall);
        }
        if !self.abi.is_empty() {
            out.extend_from_slice(b",\"abi\":");
            push_str(out, self.abi);
        }
        if let Some(a) = self.alert {
            out.extend_from_slice(b",\"alert\":");
            push_str(out, a);
        }
        out.extend_from_slice(b",\"args\":");
        push_obj(out, &self.args);
        if self.kind == Kind::Syscall || self.kind == Kind::Process {
            match self.outcome {
                Outcome::NotCaptured => out.extend_from_slice(b",\"result_captured\":false"),
                Outcome::Ok(v) => {
                    out.extend_from_slice(b",\"result_captured\":true,\"result\":");
                    push_i64(out, v);
                }
                Outcome::Err(e) => {
                    out.extend_from_slice(b",\"result_captured\":true,\"result\":");
                    push_i64(out, -i64::from(e));
                    out.extend_from_slice(b",\"errno\":");
                    push_str(out, &errno_name(e));
                }
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

fn push_obj(out: &mut Vec<u8>, fields: &[(&'static str, Value)]) {
    out.push(b'{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, k);
        out.push(b':');
        push_value(out, v);
    }
    out.push(b'}');
}

fn push_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => push_i64(out, *i),
        Value::Str(s) => push_str(out, s),
        Value::Strs(list) => push_strs(out, list),
        Value::Names(list) => push_strs(out, list),
        Value::Obj(fields) => push_obj(out, fields),
        Value::List(list) => {
            out.push(b'[');
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_value(out, v);
            }
            out.push(b']');
        }
    }
}

/// A JSON array of strings.
fn push_strs<S: AsRef<str>>(out: &mut Vec<u8>, list: &[S]) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, s.as_ref());
    }
    out.push(b']');
}

pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// JSON string; control characters escaped. Strings are already valid UTF-8
/// (tracee bytes are converted lossily when decoded).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`
pub fn rfc3339(ts: (i64, u32), out: &mut Vec<u8>) {
    let (secs, nanos) = ts;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil_from_days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let mut y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    if m <= 2 {
        y += 1;
    }
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    push_i64(out, y);
    out.push(b'-');
    two(out, m);
    out.push(b'-');
    two(out, d);
    out.push(b'T');
    two(out, rem / 3600);
    out.push(b':');
    two(out, rem / 60 % 60);
    out.push(b':');
    two(out, rem % 60);
    out.push(b'.');
    let mut n = nanos.min(999_999_999);
    let mut digits = [b'0'; 9];
    for i in (0..9).rev() {
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
    out.push(b'Z');
}

pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::EISCONN => "EISCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EALREADY => "EALREADY",
        libc::EINPROGRESS => "EINPROGRESS",
        // kernel-internal codes seen at syscall exit when a signal interrupts
        512 => "ERESTARTSYS",
        513 => "ERESTARTNOINTR",
        514 => "ERESTARTNOHAND",
        516 => "ERESTART_RESTARTBLOCK",
        _ => return format!("E{e}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        let mut v = Vec::new();
        rfc3339((0, 5), &mut v);
        assert_eq!(v, b"1970-01-01T00:00:00.000000005Z");
        v.clear();
        rfc3339((1_709_251_199, 123_456_789), &mut v); // 2024-02-29T23:59:59
        assert_eq!(v, b"2024-02-29T23:59:59.123456789Z");
    }

    #[test]
    fn strings_are_escaped() {
        let mut v = Vec::new();
        push_str(&mut v, "a\"b\\c\n\u{1}é");
        assert_eq!(String::from_utf8_lossy(&v), "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
