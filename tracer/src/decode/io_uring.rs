//! io_uring: io_uring_setup, io_uring_enter, io_uring_register. The
//! operations a ring carries (IORING_OP_OPENAT, _WRITE, _CONNECT, ...) are
//! executed by the kernel without a syscall of their own, so the filter and
//! the tracer never see them: a ring is a way around any syscall monitor.
//! Every io_uring event therefore carries `"alert":"io_uring"`, and
//! `--io-uring deny` makes io_uring_setup fail (ENOSYS), which runtimes answer
//! by falling back to plain, traced syscalls.
use super::mem::read_exact;
use super::values::{flag_names, int32, FlagTable};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::{IoUring, Sys, IO_URING_DENIED};

/// The `alert` of every io_uring event.
pub const ALERT: &str = "io_uring";

/// `IORING_SETUP_*` (include/uapi/linux/io_uring.h).
const SETUP_FLAGS: FlagTable = &[
    (1 << 0, "IORING_SETUP_IOPOLL"),
    (1 << 1, "IORING_SETUP_SQPOLL"),
    (1 << 2, "IORING_SETUP_SQ_AFF"),
    (1 << 3, "IORING_SETUP_CQSIZE"),
    (1 << 4, "IORING_SETUP_CLAMP"),
    (1 << 5, "IORING_SETUP_ATTACH_WQ"),
    (1 << 6, "IORING_SETUP_R_DISABLED"),
    (1 << 7, "IORING_SETUP_SUBMIT_ALL"),
    (1 << 8, "IORING_SETUP_COOP_TASKRUN"),
    (1 << 9, "IORING_SETUP_TASKRUN_FLAG"),
    (1 << 10, "IORING_SETUP_SQE128"),
    (1 << 11, "IORING_SETUP_CQE32"),
    (1 << 12, "IORING_SETUP_SINGLE_ISSUER"),
    (1 << 13, "IORING_SETUP_DEFER_TASKRUN"),
    (1 << 14, "IORING_SETUP_NO_MMAP"),
    (1 << 15, "IORING_SETUP_REGISTERED_FD_ONLY"),
    (1 << 16, "IORING_SETUP_NO_SQARRAY"),
];

/// `IORING_ENTER_*`.
const ENTER_FLAGS: FlagTable = &[
    (1 << 0, "IORING_ENTER_GETEVENTS"),
    (1 << 1, "IORING_ENTER_SQ_WAKEUP"),
    (1 << 2, "IORING_ENTER_SQ_WAIT"),
    (1 << 3, "IORING_ENTER_EXT_ARG"),
    (1 << 4, "IORING_ENTER_REGISTERED_RING"),
];

pub fn decode(c: &Call, e: &mut Entry) {
    let a = &c.a;
    e.alert = Some(ALERT);
    let v = &mut e.args;
    match c.sys {
        Sys::IoUringSetup => {
            v.push(("entries", Value::Int(i64::from(a[0] as u32))));
            // struct io_uring_params: sq_entries, cq_entries, flags (u32 each)
            let mut p = [0u8; 12];
            let flags = match read_exact(c.tid, a[1], &mut p) {
                Some(()) => {
                    let f = u32::from_ne_bytes([p[8], p[9], p[10], p[11]]);
                    Value::Names(flag_names(u64::from(f), SETUP_FLAGS))
                }
                None => Value::Null,
            };
            v.push(("flags", flags));
            let denied = c.ctx.io_uring == IoUring::Deny;
            v.push(("denied", Value::Bool(denied)));
            if denied {
                e.deny = Some(IO_URING_DENIED);
            }
        }
        Sys::IoUringEnter => {
            v.push(("fd", int32(a[0])));
            v.push(("to_submit", Value::Int(i64::from(a[1] as u32))));
            v.push(("min_complete", Value::Int(i64::from(a[2] as u32))));
            v.push((
                "flags",
                Value::Names(flag_names(a[3] & 0xffff_ffff, ENTER_FLAGS)),
            ));
        }
        Sys::IoUringRegister => {
            v.push(("fd", int32(a[0])));
            v.push(("opcode", Value::Int(i64::from(a[1] as u32))));
            v.push(("nr_args", Value::Int(i64::from(a[3] as u32))));
        }
        _ => {} // not an io_uring syscall (see decode::entry)
    }
}
