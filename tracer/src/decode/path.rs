//! Path arguments: read as given, and resolved (against the cwd or a dirfd,
//! through /proc) and lexically normalised. Symlinks are not followed.
use super::mem::{lossy, read_cstr, PATH_MAX};
use crate::event::Value;

fn readlink(path: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::fs::read_link(path)
        .ok()
        .map(|p| p.into_os_string().into_vec())
}

/// Lexically normalise an absolute path (".", "..", "//").
pub fn normalize(p: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    let mut out = Vec::with_capacity(p.len() + 1);
    for c in &parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The directory a relative path is resolved against.
fn base_dir(tid: i32, dirfd: Option<i32>) -> Option<Vec<u8>> {
    match dirfd {
        None => readlink(&format!("/proc/{tid}/cwd")),
        Some(libc::AT_FDCWD) => readlink(&format!("/proc/{tid}/cwd")),
        Some(fd) if fd >= 0 => readlink(&format!("/proc/{tid}/fd/{fd}")),
        Some(_) => None,
    }
}

/// Absolute, normalised form of `path` as the tracee sees it.
pub fn resolve(tid: i32, dirfd: Option<i32>, path: &[u8]) -> Option<Vec<u8>> {
    if path.first() == Some(&b'/') {
        return Some(normalize(path));
    }
    let mut base = base_dir(tid, dirfd)?;
    if base.first() != Some(&b'/') {
        // e.g. "socket:[123]" or "anon_inode:..."
        return None;
    }
    if !path.is_empty() {
        base.push(b'/');
        base.extend_from_slice(path);
    }
    Some(normalize(&base))
}

/// What the descriptor `fd` of `tid` refers to (`null` if unknown).
pub fn fd_path(tid: i32, fd: i32) -> Value {
    match readlink(&format!("/proc/{tid}/fd/{fd}")) {
        Some(p) => Value::Str(lossy(&p)),
        None => Value::Null,
    }
}

/// Push "path" (as given) and "abspath" (resolved) for a path argument.
/// Returns the resolved path.
pub fn push_path(
    out: &mut Vec<(&'static str, Value)>,
    key: &'static str,
    abs_key: &'static str,
    tid: i32,
    dirfd: Option<i32>,
    addr: u64,
) -> Option<Vec<u8>> {
    match read_cstr(tid, addr, PATH_MAX) {
        Some(p) => {
            let abs = resolve(tid, dirfd, &p);
            out.push((key, Value::Str(lossy(&p))));
            out.push((
                abs_key,
                abs.as_deref()
                    .map(|a| Value::Str(lossy(a)))
                    .unwrap_or(Value::Null),
            ));
            abs
        }
        None => {
            out.push((key, Value::Null));
            out.push((abs_key, Value::Null));
            None
        }
    }
}

/// A dirfd argument: `"AT_FDCWD"` or the number.
pub fn dirfd_value(fd: i32) -> Value {
    if fd == libc::AT_FDCWD {
        Value::Str("AT_FDCWD".into())
    } else {
        Value::Int(i64::from(fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize(b"/a/./b//../c"), b"/a/c");
        assert_eq!(normalize(b"/.."), b"/");
    }
}
