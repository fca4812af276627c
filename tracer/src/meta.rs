//! The stream's first event, `meta`: where the events come from. The
//! host name, and on ECS (`ECS_CONTAINER_METADATA_URI_V4` set, as the ECS
//! agent does in every container of a task on Fargate and EC2) the task and
//! container from the task metadata endpoint v4: task ARN, cluster, family,
//! revision, availability zone, launch type; container id, name, image and
//! image digest. What a rule engine needs for Falco's `container.*` fields
//! and an alert's hostname.
//!
//! Fetched once, at start, in a thread of its own while the tracer
//! prepares the launch; the application starts at most `WAIT` after the
//! tracer did, with whatever has arrived by then (the event then carries
//! an `error` instead of the task's data).
use crate::event::{Event, Kind, Value};
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest the application waits for the metadata.
pub const WAIT: Duration = Duration::from_millis(1000);
/// Bodies larger than this are not metadata.
const BODY_MAX: usize = 1 << 20;

/// The `ecs` object's fields, or why there are none.
type Fetched = Result<Vec<(&'static str, Value)>, String>;

/// A metadata fetch running in its own thread (or nothing to fetch).
pub struct Pending {
    started: Instant,
    rx: Option<mpsc::Receiver<Fetched>>,
}

/// Start fetching the task metadata, if the environment names an endpoint.
pub fn start() -> Pending {
    let started = Instant::now();
    let uri = std::env::var("ECS_CONTAINER_METADATA_URI_V4")
        .ok()
        .filter(|u| !u.is_empty());
    let Some(uri) = uri else {
        return Pending { started, rx: None };
    };
    let (tx, rx) = mpsc::channel();
    let deadline = started + WAIT;
    let spawned = std::thread::Builder::new()
        .name("kiltx-metadata".into())
        .spawn(move || {
            let _ = tx.send(ecs(&uri, deadline));
        });
    match spawned {
        Ok(_) => Pending {
            started,
            rx: Some(rx),
        },
        Err(_) => Pending { started, rx: None },
    }
}

impl Pending {
    /// The `meta` event, waiting for the fetch until `WAIT` after `start`.
    pub fn event(self, seq: u64) -> Event {
        let mut ev = Event::new(Kind::Meta, seq, "");
        ev.args.push(("hostname", hostname()));
        let Some(rx) = self.rx else {
            ev.args.push(("ecs", Value::Null));
            return ev;
        };
        let left = (self.started + WAIT).saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(fields)) => ev.args.push(("ecs", Value::Obj(fields))),
            Ok(Err(e)) => {
                ev.args.push(("ecs", Value::Null));
                ev.args.push(("error", Value::Str(e)));
            }
            Err(_) => {
                ev.args.push(("ecs", Value::Null));
                ev.args.push((
                    "error",
                    Value::Str(format!(
                        "task metadata endpoint: no answer within {} ms",
                        WAIT.as_millis()
                    )),
                ));
            }
        }
        ev
    }
}

/// The kernel's host name (in a task with awsvpc networking, the task's).
fn hostname() -> Value {
    match std::fs::read_to_string("/proc/sys/kernel/hostname") {
        Ok(h) => Value::Str(h.trim_end().to_string()),
        Err(_) => Value::Null,
    }
}

/// The container's and the task's metadata, flattened to what a rule uses.
fn ecs(uri: &str, deadline: Instant) -> Fetched {
    let uri = uri.trim_end_matches('/');
    let container = get_json(uri, deadline)?;
    let task = get_json(&format!("{uri}/task"), deadline)?;
    let text = |j: &Json, k: &str| match j.get(k) {
        Some(Json::String(s)) => Value::Str(s.clone()),
        Some(Json::Number(n)) => Value::Str(n.to_string()),
        _ => Value::Null,
    };
    let image = container.get("Image").and_then(Json::as_str).unwrap_or("");
    let (repo, tag) = split_image(image);
    let opt = |s: Option<&str>| s.map(|s| Value::Str(s.into())).unwrap_or(Value::Null);
    Ok(vec![
        ("task_arn", text(&task, "TaskARN")),
        ("cluster", text(&task, "Cluster")),
        ("family", text(&task, "Family")),
        ("revision", text(&task, "Revision")),
        ("availability_zone", text(&task, "AvailabilityZone")),
        ("launch_type", text(&task, "LaunchType")),
        ("container_id", text(&container, "DockerId")),
        ("container_name", text(&container, "Name")),
        ("container_arn", text(&container, "ContainerARN")),
        ("image", text(&container, "Image")),
        ("image_repository", opt(repo)),
        ("image_tag", opt(tag)),
        ("image_digest", text(&container, "ImageID")),
        ("started_at", text(&container, "StartedAt")),
    ])
}

/// `REPO[:TAG][@DIGEST]` into the repository and the tag (`None` when the
/// image has none); a registry's port is not a tag.
fn split_image(image: &str) -> (Option<&str>, Option<&str>) {
    if image.is_empty() {
        return (None, None);
    }
    let name = image.split('@').next().unwrap_or(image);
    let slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    match name[slash..].rfind(':') {
        Some(c) => (Some(&name[..slash + c]), Some(&name[slash + c + 1..])),
        None => (Some(name), None),
    }
}

/// `GET` an `http://` URL and parse its body as JSON, within `deadline`.
fn get_json(url: &str, deadline: Instant) -> Result<Json, String> {
    let body = http_get(url, deadline).map_err(|e| format!("task metadata {url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("task metadata {url}: not JSON: {e}"))
}

fn left(deadline: Instant) -> Result<Duration, String> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err("timed out".into())
    } else {
        Ok(d)
    }
}

/// A plain HTTP/1.1 GET (the endpoint is the ECS agent on a link-local
/// address: no TLS, no proxy), `Connection: close`; the body, de-chunked.
fn http_get(url: &str, deadline: Instant) -> Result<Vec<u8>, String> {
    let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addrs = crate::sink::resolve(&with_port).map_err(|e| e.to_string())?;
    let addr = addrs.first().ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(addr, left(deadline)?).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(left(deadline)?))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        s.set_read_timeout(Some(left(deadline)?))
            .map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                resp.extend_from_slice(&buf[..n]);
                if resp.len() > BODY_MAX {
                    return Err("answer too large".into());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err("timed out".into())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    parse_response(&resp)
}

/// Status, headers and body of an HTTP/1.x response read to its end.
fn parse_response(resp: &[u8]) -> Result<Vec<u8>, String> {
    let end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete HTTP header")?;
    let head = String::from_utf8_lossy(&resp[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        return Err(format!("HTTP status {:?}", status.trim()));
    }
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    let body = &resp[end + 4..];
    if chunked {
        return dechunk(body);
    }
    match length {
        Some(n) if n <= body.len() => Ok(body[..n].to_vec()),
        Some(_) => Err("answer cut short".into()),
        None => Ok(body.to_vec()),
    }
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size = String::from_utf8_lossy(&b[..eol]);
        let size = size.split(';').next().unwrap_or("").trim();
        let n = usize::from_str_radix(size, 16).map_err(|_| "bad chunk size")?;
        b = &b[eol + 2..];
        if n == 0 {
            return Ok(out);
        }
        if b.len() < n + 2 {
            return Err("answer cut short".into());
        }
        out.extend_from_slice(&b[..n]);
        b = &b[n + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        assert_eq!(
            split_image("123.dkr.ecr.eu-west-1.amazonaws.com/app:1.2"),
            (Some("123.dkr.ecr.eu-west-1.amazonaws.com/app"), Some("1.2"))
        );
        assert_eq!(
            split_image("localhost:5000/app"),
            (Some("localhost:5000/app"), None)
        );
        assert_eq!(split_image("nginx@sha256:abc"), (Some("nginx"), None));
        assert_eq!(split_image(""), (None, None));
    }

    #[test]
    fn responses() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx";
        assert_eq!(parse_response(r).unwrap(), b"{}");
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3;x=1\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), b"{\"\":1}");
        assert!(parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
    }
}
