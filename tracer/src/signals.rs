//! PID-1 duties: forward termination-ish signals to the application.
use std::sync::atomic::{AtomicI32, Ordering};

static APP: AtomicI32 = AtomicI32::new(0);

pub const FORWARDED: [i32; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

extern "C" fn forward(sig: libc::c_int) {
    let pid = APP.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; errno is saved/restored around it.
        unsafe {
            let saved = *libc::__errno_location();
            libc::kill(pid, sig);
            *libc::__errno_location() = saved;
        }
    }
}

/// From now on, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received
/// by the tracer are sent to `pid`.
pub fn forward_to(pid: i32) {
    APP.store(pid, Ordering::Relaxed);
    for sig in FORWARDED {
        // SAFETY: installing a handler that only calls async-signal-safe
        // functions; the sigaction struct is fully initialised.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Block `sigs` in the calling thread (and threads it spawns later).
pub fn block(sigs: &[i32]) {
    // SAFETY: building a signal set and changing our own mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Wait for one of `sigs` (which must be blocked).
pub fn wait_for(sigs: &[i32]) -> i32 {
    // SAFETY: building a signal set and waiting on it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        let mut sig = 0;
        loop {
            if libc::sigwait(&set, &mut sig) == 0 {
                return sig;
            }
        }
    }
}
