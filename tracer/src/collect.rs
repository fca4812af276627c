//! `kiltx-tracer collect`: the sidecar's entrypoint. Accepts any number of
//! tracers on a TCP or Unix socket and writes the JSON lines they send to
//! stdout, one whole line at a time. A client that disconnects mid-line loses
//! that partial line only. Runs until SIGTERM or SIGINT (exit 0).
use crate::error::Error;
use crate::signals;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;

const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl Listen {
    pub fn parse(s: &str) -> Option<Listen> {
        if let Some(a) = s.strip_prefix("tcp://") {
            let (h, p) = a.rsplit_once(':')?;
            (!h.is_empty() && p.parse::<u16>().is_ok()).then(|| Listen::Tcp(a.to_string()))
        } else if let Some(p) = s.strip_prefix("unix:") {
            (!p.is_empty()).then(|| Listen::Unix(p.into()))
        } else {
            None
        }
    }
}

/// Copy complete lines from `r` to stdout.
fn pump<R: Read>(r: R) {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut line = Vec::with_capacity(1024);
    let mut skipping = false;
    loop {
        line.clear();
        let n = match (&mut r).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if n == 0 {
            return; // EOF; a partial line (if any) was already dropped
        }
        if line.last() != Some(&b'\n') {
            if n >= MAX_LINE {
                // over-long line: drop it up to its newline
                skipping = true;
                continue;
            }
            return; // EOF mid-line: drop the partial line
        }
        if skipping {
            skipping = false;
            continue;
        }
        let out = std::io::stdout();
        let mut lock = out.lock();
        if lock.write_all(&line).and_then(|_| lock.flush()).is_err() {
            // stdout is gone: nothing sensible left to do
            crate::sys::exit_now(1);
        }
    }
}

/// Pump every accepted connection in a thread of its own; a failed accept is
/// retried after a short pause.
fn serve<S: Read + Send + 'static>(incoming: impl Iterator<Item = std::io::Result<S>>) {
    for s in incoming {
        match s {
            Ok(s) => {
                let _ = std::thread::Builder::new().spawn(move || pump(s));
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

pub fn run(listen: Listen) -> Result<(), Error> {
    // Block the termination signals in every thread; the main thread waits
    // for them with sigwait and exits between two lines.
    let stop = [libc::SIGTERM, libc::SIGINT];
    signals::block(&stop);
    match listen {
        Listen::Tcp(a) => {
            let addrs =
                crate::sink::resolve(&a).map_err(|e| Error::Collect(format!("{a}: {e}")))?;
            let l = TcpListener::bind(&addrs[..])
                .map_err(|e| Error::Collect(format!("cannot listen on tcp://{a}: {e}")))?;
            crate::warn!(
                "kiltx-tracer collect: listening on tcp://{}",
                l.local_addr().map(|a| a.to_string()).unwrap_or(a)
            );
            std::thread::spawn(move || serve(l.incoming()));
        }
        Listen::Unix(p) => {
            use std::os::unix::fs::FileTypeExt;
            if let Ok(m) = std::fs::symlink_metadata(&p) {
                if m.file_type().is_socket() {
                    let _ = std::fs::remove_file(&p);
                }
            }
            let l = UnixListener::bind(&p).map_err(|e| {
                Error::Collect(format!("cannot listen on unix:{}: {e}", p.display()))
            })?;
            crate::warn!("kiltx-tracer collect: listening on unix:{}", p.display());
            std::thread::spawn(move || serve(l.incoming()));
        }
    }
    signals::wait_for(&stop);
    // take the stdout lock so that no line is cut, then leave
    let out = std::io::stdout();
    let mut lock = out.lock();
    let _ = lock.flush();
    crate::sys::exit_now(0)
}
