//! Bounded reads of the tracee's memory: C strings, fixed-size structs, argv
//! arrays. A failed read gives `None`, never an error.
use crate::arch::{self, Abi};
use crate::event::Value;
use crate::sys;

pub const PATH_MAX: usize = 4096;
const ARGV_MAX: usize = 1024;
const ARGV_BYTES_MAX: usize = 64 * 1024;

/// Read a NUL-terminated string (at most `max` bytes).
pub fn read_cstr(pid: i32, addr: u64, max: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut a = addr;
    let mut chunk = [0u8; 4096];
    while out.len() < max {
        let to_page = 4096 - (a % 4096) as usize;
        let n = to_page.min(max - out.len()).min(chunk.len());
        let got = sys::read_mem(pid, a, &mut chunk[..n]).ok()?;
        if got == 0 {
            return if out.is_empty() { None } else { Some(out) };
        }
        if let Some(p) = chunk[..got].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..p]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..got]);
        a = a.wrapping_add(got as u64);
    }
    Some(out)
}

/// A NUL-terminated string (at most `max` bytes) as a value: lossy UTF-8, or
/// `null` when it cannot be read.
pub fn str_value(pid: i32, addr: u64, max: usize) -> Value {
    read_cstr(pid, addr, max)
        .map(|s| Value::Str(lossy(&s)))
        .unwrap_or(Value::Null)
}

/// Fill `buf` from `addr`; `None` unless all of it could be read.
pub fn read_exact(pid: i32, addr: u64, buf: &mut [u8]) -> Option<()> {
    if addr == 0 {
        return None;
    }
    (sys::read_mem(pid, addr, buf).ok()? == buf.len()).then_some(())
}

pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Read a NULL-terminated array of string pointers (argv).
pub fn read_argv(pid: i32, abi: Abi, addr: u64) -> Option<Vec<String>> {
    if addr == 0 {
        return Some(Vec::new());
    }
    let psz = arch::pointer_size(abi);
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 8 * 64];
    let mut a = addr;
    'outer: while out.len() < ARGV_MAX {
        let n = sys::read_mem(pid, a, &mut buf).ok()?;
        let n = n - n % psz;
        if n == 0 {
            break;
        }
        for c in buf[..n].chunks_exact(psz) {
            let p = if psz == 8 {
                u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
            } else {
                u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            };
            if p == 0 || out.len() >= ARGV_MAX || total >= ARGV_BYTES_MAX {
                break 'outer;
            }
            let s = read_cstr(pid, p, PATH_MAX * 8).unwrap_or_default();
            total += s.len();
            out.push(lossy(&s));
        }
        a = a.wrapping_add(n as u64);
    }
    Some(out)
}
