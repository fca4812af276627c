//! The crate's one error type. Every error says what is wrong, where (a JSON path into the
//! document, and a line/column once a [`crate::source::Document`] has located it), and, where
//! there is one, what to do about it.

use crate::source::{render_path, Document, Format, PathStep};

/// A path into the value model, as diagnostics show it.
pub type Path = Vec<PathStep>;

/// Finds the line and column of a path, where it can.
pub type Locator<'a> = &'a dyn Fn(&[PathStep]) -> Option<(usize, usize)>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not well-formed JSON/YAML.
    #[error("{format} syntax error at line {line}, column {column}: {message}")]
    Syntax {
        format: Format,
        line: usize,
        column: usize,
        message: String,
    },

    /// The input is larger than the configured limit.
    #[error("input is {size} bytes, over the limit of {limit} bytes (raise it with --max-input-size if this is really a task definition)")]
    TooLarge { size: usize, limit: usize },

    /// The document is well-formed but something in it is not what it must be.
    #[error("{}{message}{}", path_prefix(path), hint_suffix(hint))]
    Invalid {
        path: Path,
        message: String,
        hint: Option<String>,
        /// Line and column, once located against the document.
        at: Option<(usize, usize)>,
    },

    /// A container that must be patched cannot be.
    #[error(
        "{}: cannot patch container {container}: {message}{}",
        render_path(path),
        hint_suffix(hint)
    )]
    Unpatchable {
        path: Path,
        container: String,
        message: String,
        hint: Option<String>,
        at: Option<(usize, usize)>,
    },

    /// The definition (what to inject) is invalid.
    #[error("definition {origin}: {}: {message}", render_path(path))]
    Definition {
        origin: String,
        path: Path,
        message: String,
    },

    /// Several independent errors, all reported at once.
    #[error("{}", render_many(.0))]
    Multiple(Vec<Error>),
}

fn path_prefix(path: &Path) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{}: ", render_path(path))
    }
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("\n  help: {h}"),
        None => String::new(),
    }
}

fn render_many(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn invalid(path: Path, message: impl Into<String>) -> Self {
        Error::Invalid {
            path,
            message: message.into(),
            hint: None,
            at: None,
        }
    }

    pub fn invalid_hint(path: Path, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Invalid {
            path,
            message: message.into(),
            hint: Some(hint.into()),
            at: None,
        }
    }

    /// Collapse a list of errors: none → Ok, one → itself, several → `Multiple`.
    pub fn from_many(mut errors: Vec<Error>) -> Result<(), Error> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Multiple(errors)),
        }
    }

    /// Fill in line/column for errors that carry a path into `doc`.
    pub fn locate(self, doc: &Document) -> Self {
        // One index for all the errors: locating each from scratch is quadratic.
        let lines = crate::source::LineIndex::new(&doc.text);
        let nodes = crate::source::NodeFinder::new(&doc.tree);
        self.locate_with(&|p| Some(lines.line_col(nodes.find(p).span.start)))
    }

    /// Fill in line/column with `position` for errors that carry a path.
    pub fn locate_with(self, position: Locator<'_>) -> Self {
        match self {
            Error::Invalid {
                path,
                message,
                hint,
                at: None,
            } => {
                let at = position(&path);
                Error::Invalid {
                    path,
                    message,
                    hint,
                    at,
                }
            }
            Error::Unpatchable {
                path,
                container,
                message,
                hint,
                at: None,
            } => {
                let at = position(&path);
                Error::Unpatchable {
                    path,
                    container,
                    message,
                    hint,
                    at,
                }
            }
            Error::Multiple(errors) => Error::Multiple(
                errors
                    .into_iter()
                    .map(|e| e.locate_with(position))
                    .collect(),
            ),
            other => other,
        }
    }

    /// The individual errors (one, or each of a `Multiple`).
    pub fn flatten(&self) -> Vec<&Error> {
        match self {
            Error::Multiple(errors) => errors.iter().flat_map(|e| e.flatten()).collect(),
            other => vec![other],
        }
    }

    /// Line and column, where known.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            Error::Syntax { line, column, .. } => Some((*line, *column)),
            Error::Invalid { at, .. } | Error::Unpatchable { at, .. } => *at,
            _ => None,
        }
    }
}
