//! The tracer's one error type.
use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// Bad command line: usage is printed, exit status 2.
    Usage(String),
    /// ptrace is not permitted (no CAP_SYS_PTRACE, a seccomp profile forbids it).
    Ptrace(String),
    /// seccomp filters cannot be installed.
    Seccomp(String),
    /// The application could not be started.
    Spawn(String),
    /// The event sink could not be opened.
    Sink(String),
    /// The collector could not listen or write.
    Collect(String),
    /// Bad rules files (or unreadable ones): exit status 2.
    Rules(String),
    /// Anything else the kernel refused.
    Os(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Ptrace(_) => write!(
                f,
                "{}. Add the SYS_PTRACE capability to the container \
                 (ECS: linuxParameters.capabilities.add), or pass --fail-open to run it untraced",
                self.cause()
            ),
            Error::Seccomp(_) => write!(
                f,
                "{}. The kernel needs CONFIG_SECCOMP_FILTER; \
                 pass --fail-open to run the application untraced",
                self.cause()
            ),
            Error::Spawn(m) => write!(f, "cannot start the application: {m}"),
            Error::Sink(m) => write!(f, "cannot open the event sink: {m}"),
            Error::Collect(m) => write!(f, "collector: {m}"),
            Error::Rules(m) => write!(f, "{m}"),
            Error::Os(m) => write!(f, "{m}"),
        }
    }
}

impl Error {
    /// What went wrong, without the advice (for `--fail-open`, which has taken it); `Display`
    /// adds the advice to it.
    pub fn cause(&self) -> String {
        match self {
            Error::Ptrace(m) => format!("cannot trace the application: {m}"),
            Error::Seccomp(m) => format!("cannot install the seccomp filter: {m}"),
            other => other.to_string(),
        }
    }
}

impl std::error::Error for Error {}
