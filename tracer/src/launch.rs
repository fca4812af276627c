//! Starting the application: fork, then in the child (async-signal-safe code
//! only) install the seccomp filter, wait for the tracer to attach, and exec
//! the command with a shell-like PATH search.
use crate::error::Error;
use crate::sys;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

extern "C" {
    static environ: *const *const libc::c_char;
}

/// Everything the child needs, prepared before fork (no allocation after).
pub struct Prepared {
    candidates: Vec<CString>,
    argv: Vec<CString>,
    not_found: Vec<u8>,
    denied: Vec<u8>,
}

impl Prepared {
    pub fn new(cmd: &[OsString]) -> Result<Prepared, Error> {
        let first = cmd
            .first()
            .ok_or_else(|| Error::Usage("no command given".into()))?;
        let argv: Vec<CString> = cmd
            .iter()
            .map(|a| CString::new(a.clone().into_vec()))
            .collect::<Result<_, _>>()
            .map_err(|_| Error::Usage("arguments must not contain NUL bytes".into()))?;
        let name = first.as_bytes();
        if name.is_empty() {
            return Err(Error::Usage("empty command name".into()));
        }
        let mut candidates = Vec::new();
        if name.contains(&b'/') {
            candidates.push(argv[0].clone());
        } else {
            let path = std::env::var_os("PATH").unwrap_or_else(|| {
                OsString::from("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            });
            for dir in path.as_bytes().split(|&b| b == b':') {
                let mut p = if dir.is_empty() {
                    b".".to_vec()
                } else {
                    dir.to_vec()
                };
                p.push(b'/');
                p.extend_from_slice(name);
                if let Ok(c) = CString::new(p) {
                    candidates.push(c);
                }
            }
        }
        let shown = String::from_utf8_lossy(name);
        Ok(Prepared {
            candidates,
            argv,
            not_found: format!("kiltx-tracer: {shown}: command not found\n").into_bytes(),
            denied: format!("kiltx-tracer: {shown}: permission denied\n").into_bytes(),
        })
    }
}

/// In the child: exec the first candidate that works; never returns.
fn exec_child(p: &Prepared, argv: &[*const libc::c_char]) -> ! {
    let mut denied = false;
    for c in &p.candidates {
        // SAFETY: argv is a NULL-terminated array of pointers into CStrings that
        // outlive the call; environ is the process environment.
        unsafe { libc::execve(c.as_ptr(), argv.as_ptr(), environ) };
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if e == libc::EACCES {
            denied = true;
        }
    }
    let msg = if denied { &p.denied } else { &p.not_found };
    // SAFETY: writing a prepared buffer to stderr, then exiting without
    // running any parent-process cleanup.
    unsafe {
        libc::write(2, msg.as_ptr() as *const libc::c_void, msg.len());
        libc::_exit(if denied { 126 } else { 127 })
    }
}

/// Restore what the tracer changed for itself (Rust ignores SIGPIPE).
fn reset_signals_in_child() {
    // SAFETY: async-signal-safe calls on our own process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

fn pipe() -> Result<(i32, i32), Error> {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::Os(format!(
            "pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok((fds[0], fds[1]))
}

fn close(fd: i32) {
    // SAFETY: closing a descriptor we own.
    unsafe { libc::close(fd) };
}

fn fork() -> Result<i32, Error> {
    // SAFETY: the child only runs async-signal-safe code before exec.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::Spawn(format!(
            "fork: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(pid)
}

fn kill_and_reap(pid: i32) {
    let _ = sys::kill(pid, libc::SIGKILL);
    let mut st = 0;
    // SAFETY: valid out pointer.
    unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
}

fn argv_ptrs(p: &Prepared) -> Vec<*const libc::c_char> {
    let mut v: Vec<*const libc::c_char> = p.argv.iter().map(|a| a.as_ptr()).collect();
    v.push(std::ptr::null());
    v
}

/// Start the application traced: the child installs `prog`, then waits until
/// the tracer has seized it. Returns the child's pid.
pub fn spawn_traced(
    p: &Prepared,
    prog: &[libc::sock_filter],
    options: libc::c_int,
) -> Result<i32, Error> {
    let argv = argv_ptrs(p);
    let (status_r, status_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let pid = fork()?;
    if pid == 0 {
        close(status_r);
        close(go_w);
        reset_signals_in_child();
        let msg: [u8; 5] = match crate::seccomp::install(prog) {
            Ok(()) => *b"R\0\0\0\0",
            Err(e) => {
                let b = e.to_ne_bytes();
                [b'S', b[0], b[1], b[2], b[3]]
            }
        };
        let mut go = [0u8; 1];
        // SAFETY: plain reads/writes on our pipes with valid buffers.
        let ok = unsafe {
            libc::write(status_w, msg.as_ptr() as *const libc::c_void, msg.len());
            msg[0] == b'R'
                && libc::read(go_r, go.as_mut_ptr() as *mut libc::c_void, 1) == 1
                && go[0] == b'G'
        };
        if !ok {
            // SAFETY: leaving the child without running parent cleanup.
            unsafe { libc::_exit(127) };
        }
        exec_child(p, &argv);
    }
    close(status_w);
    close(go_r);
    let seized = sys::seize(pid, options);
    let mut msg = [0u8; 5];
    let mut got = 0usize;
    while got < msg.len() {
        // SAFETY: reading into the unfilled part of a local buffer.
        let n = unsafe {
            libc::read(
                status_r,
                msg[got..].as_mut_ptr() as *mut libc::c_void,
                msg.len() - got,
            )
        };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    close(status_r);
    // A seccomp failure makes the child exit at once, which can in turn make
    // the seize fail: report the child's own diagnosis first.
    let result = if got == msg.len() && msg[0] == b'S' {
        let errno = i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]);
        Err(Error::Seccomp(
            std::io::Error::from_raw_os_error(errno).to_string(),
        ))
    } else if let Err(e) = seized {
        Err(Error::Ptrace(format!("PTRACE_SEIZE: {e}")))
    } else if got == msg.len() && msg[0] == b'R' {
        Ok(pid)
    } else {
        Err(Error::Spawn("the child died during setup".into()))
    };
    match result {
        Ok(pid) => {
            // SAFETY: writing one byte to our pipe.
            unsafe { libc::write(go_w, b"G".as_ptr() as *const libc::c_void, 1) };
            close(go_w);
            Ok(pid)
        }
        Err(e) => {
            close(go_w);
            kill_and_reap(pid);
            Err(e)
        }
    }
}

/// Start the application without tracing (`--fail-open`).
pub fn spawn_untraced(p: &Prepared) -> Result<i32, Error> {
    let argv = argv_ptrs(p);
    let pid = fork()?;
    if pid == 0 {
        reset_signals_in_child();
        exec_child(p, &argv);
    }
    Ok(pid)
}

/// Reap every child until `app` exits; returns its wait status.
pub fn reap_until(app: i32) -> i32 {
    loop {
        let mut st = 0;
        // SAFETY: valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut st, 0) };
        if pid < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return 1 << 8;
        }
        if pid == app && (libc::WIFEXITED(st) || libc::WIFSIGNALED(st)) {
            return st;
        }
    }
}
