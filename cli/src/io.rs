//! Reading inputs with a size limit, and writing outputs atomically.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// Read `path` (`-` for stdin) as UTF-8, refusing more than `limit` bytes.
pub fn read_input(path: &str, limit: usize) -> Result<String, CliError> {
    let shown = PathBuf::from(if path == "-" { "<stdin>" } else { path });
    let read_err = |source| CliError::Read {
        path: shown.clone(),
        source,
    };
    let mut buf = Vec::new();
    let cap = (limit as u64).saturating_add(1);
    if path == "-" {
        std::io::stdin()
            .lock()
            .take(cap)
            .read_to_end(&mut buf)
            .map_err(read_err)?;
    } else {
        let f = fs::File::open(path).map_err(read_err)?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CliError::Usage(format!(
                "{path} is a directory; give a file"
            )));
        }
        f.take(cap).read_to_end(&mut buf).map_err(read_err)?;
    }
    if buf.len() > limit {
        return Err(CliError::Engine {
            origin: shown.display().to_string(),
            source: Box::new(kilt_defs::Error::TooLarge {
                size: buf.len(),
                limit,
            }),
        });
    }
    String::from_utf8(buf).map_err(|e| {
        let (line, column) = kilt_defs::source::line_col(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        CliError::Engine {
            origin: shown.display().to_string(),
            source: Box::new(kilt_defs::Error::Syntax {
                format: kilt_defs::source::Format::Json,
                line,
                column,
                message: "the file is not UTF-8 text".into(),
            }),
        }
    })
}

/// Write `text` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over the target (keeping the target's permissions). A symbolic link is followed (the
/// file it names is replaced, the link stays); what is not a regular file (`/dev/null`, a FIFO,
/// `/dev/stdout`) is written into as it is: renaming over it would replace a device with a
/// file (`-o /dev/null` as root once turned the machine's /dev/null into a regular file).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    let write_err = |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    };
    let resolved;
    let path = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = fs::canonicalize(path).map_err(write_err)?;
            resolved.as_path()
        }
        _ => path,
    };
    if let Ok(meta) = fs::metadata(path) {
        if !meta.is_file() {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(write_err)?;
            return f.write_all(text.as_bytes()).map_err(write_err);
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.kiltx-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = fs::metadata(path) {
            fs::set_permissions(&tmp, meta.permissions())?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}
