//! The CLI's errors and how they are shown to people.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error from the engine, about a named input.
    #[error("{origin}: {source}")]
    Engine {
        origin: String,
        #[source]
        source: Box<kilt_defs::Error>,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    /// Registry lookups that failed, one message each.
    #[error("{}", .0.join("\n"))]
    Images(Vec<String>),
}

impl CliError {
    /// Wraps an engine error about the input named `origin` (for `map_err`).
    pub fn engine(origin: impl Into<String>) -> impl FnOnce(kilt_defs::Error) -> CliError {
        let origin = origin.into();
        move |source| CliError::Engine {
            origin,
            source: Box::new(source),
        }
    }

    /// A failed write to standard output.
    pub fn stdout(source: std::io::Error) -> CliError {
        CliError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        2
    }

    /// Render for people: one `kiltx: error: FILE:LINE:COL: ...` line per problem.
    pub fn render(&self) -> String {
        match self {
            CliError::Engine { origin, source } => source
                .flatten()
                .into_iter()
                .map(|e| match e {
                    kilt_defs::Error::Syntax {
                        format,
                        line,
                        column,
                        message,
                    } => format!(
                        "kiltx: error: {origin}:{line}:{column}: {format} syntax error: {message}"
                    ),
                    kilt_defs::Error::Definition { .. } => format!("kiltx: error: {e}"),
                    _ => match e.location() {
                        Some((l, c)) => format!("kiltx: error: {origin}:{l}:{c}: {e}"),
                        None => format!("kiltx: error: {origin}: {e}"),
                    },
                })
                .collect::<Vec<_>>()
                .join("\n"),
            CliError::Images(failures) => failures
                .iter()
                .map(|f| format!("kiltx: error: {f}"))
                .collect::<Vec<_>>()
                .join("\n"),
            other => format!("kiltx: error: {other}"),
        }
    }
}
