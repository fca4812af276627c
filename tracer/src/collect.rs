//! `kiltx-tracer collect`: the sidecar's entrypoint. Accepts any number of
//! tracers on a TCP or Unix socket and writes the JSON lines they send to
//! stdout, one whole line at a time. A client that disconnects mid-line loses
//! that partial line only; a stream that does not end with the tracer's final
//! stats event is followed by a `{"type":"collector","args":{"stream":"cut",..}}`
//! line. Runs until SIGTERM or SIGINT (exit 0).
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

/// Is this line a tracer's final stats event (`kiltx-tracer run` ends every
/// stream it can with one; see sink.rs)?
fn is_final_stats(line: &[u8]) -> bool {
    const STATS: &[u8] = b"\"type\":\"stats\"";
    line.starts_with(b"{\"ts\":")
        && line.windows(STATS.len()).any(|w| w == STATS)
        && line.ends_with(b"\"final\":true}}\n")
}

/// Write `line` to stdout (whole, under the lock).
fn emit(line: &[u8]) {
    let out = std::io::stdout();
    let mut lock = out.lock();
    if lock.write_all(line).and_then(|_| lock.flush()).is_err() {
        // stdout is gone: nothing sensible left to do
        crate::sys::exit_now(1);
    }
}

/// Copy complete lines from `r` to stdout. A stream that does not end with
/// a final stats event (the tracer was killed, its connection broke, or its
/// exit deadline passed mid-line) is followed by a `collector` line saying so.
fn pump<R: Read>(r: R) {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut line = Vec::with_capacity(1024);
    let mut skipping = false;
    let mut lines: u64 = 0;
    let mut clean = false;
    let cut_bytes = loop {
        line.clear();
        let n = match (&mut r).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break line.len(),
        };
        if n == 0 {
            break 0; // EOF at a line boundary
        }
        if line.last() != Some(&b'\n') {
            if n >= MAX_LINE {
                // over-long line: drop it up to its newline
                skipping = true;
                continue;
            }
            break n; // EOF mid-line: drop the partial line
        }
        if skipping {
            skipping = false;
            continue;
        }
        lines += 1;
        clean = is_final_stats(&line);
        emit(&line);
    };
    if clean && cut_bytes == 0 {
        return;
    }
    let mut l = Vec::with_capacity(160);
    l.extend_from_slice(b"{\"ts\":\"");
    crate::event::rfc3339(crate::sys::now(), &mut l);
    l.extend_from_slice(b"\",\"type\":\"collector\",\"args\":{\"stream\":\"cut\",\"lines\":");
    crate::event::push_u64(&mut l, lines);
    l.extend_from_slice(b",\"cut_bytes\":");
    crate::event::push_u64(&mut l, cut_bytes as u64);
    l.extend_from_slice(b"}}\n");
    emit(&l);
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
            // The socket's directory may be a fresh one in the sidecar's shared volume.
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::Collect(format!("cannot create {}: {e}", dir.display())))?;
            }
            let l = UnixListener::bind(&p).map_err(|e| {
                Error::Collect(format!("cannot listen on unix:{}: {e}", p.display()))
            })?;
            // Connecting needs write permission on the socket, and traced applications run as
            // any user: every process that can see the socket (the task's containers, through
            // the shared volume) may send events.
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).map_err(
                    |e| {
                        Error::Collect(format!(
                            "cannot open unix:{} to every user: {e}",
                            p.display()
                        ))
                    },
                )?;
            }
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
