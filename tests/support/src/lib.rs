//! Real servers on 127.0.0.1 for kiltx's tests and benchmarks: Debian's `docker-registry`
//! (anonymous, htpasswd Basic, Bearer behind a token service), moto's server for the ECR API,
//! and a way to push images to them. Every server is a child process that is killed (by its own
//! PID) when dropped. A missing tool is a panic that says how to install it: tests fail, never skip.

pub mod aarch64;
pub mod growth;
pub mod hermetic;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::Digest as _;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A scratch directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("kiltx-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create a scratch directory");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// `which`: the tool's path, or a panic naming how to install it.
pub fn require(tool: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!("{tool} is not installed; install it with: {install} (tests/run.sh does)");
}

/// A child process killed (by its PID) when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    name: String,
    log: PathBuf,
}

impl Server {
    fn spawn(name: &str, mut cmd: Command, port: u16, log: PathBuf) -> Server {
        let out = fs::File::create(&log).expect("create a log file");
        let err = out.try_clone().expect("clone the log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut s = Server {
            child,
            port,
            name: name.to_string(),
            log,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening: {}",
                    self.name,
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not listen on 127.0.0.1:{} within 30s: {}",
            self.name,
            self.port,
            fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a registry instance authenticates.
pub enum Auth<'a> {
    Anonymous,
    /// htpasswd Basic auth with these users.
    Basic(&'a [(&'a str, &'a str)]),
    /// Bearer tokens from this token service.
    Bearer(&'a TokenService),
}

/// Start Debian's `docker-registry` on a free port, storing in `storage` (instances may share it).
pub fn registry(storage: &Path, scratch: &Path, auth: Auth<'_>) -> Server {
    let port = free_port();
    let dir = scratch.join(format!("registry-{port}"));
    fs::create_dir_all(&dir).expect("registry dir");
    let auth_yaml = match auth {
        Auth::Anonymous => String::new(),
        Auth::Basic(users) => {
            let file = dir.join("htpasswd");
            let mut text = String::new();
            for (u, p) in users {
                let out = hermetic::tool("htpasswd", "apt-get install apache2-utils")
                    .args(["-nbB", u, p])
                    .output()
                    .expect("run htpasswd");
                assert!(out.status.success(), "htpasswd failed");
                text.push_str(String::from_utf8_lossy(&out.stdout).trim());
                text.push('\n');
            }
            fs::write(&file, text).expect("write htpasswd");
            format!(
                "auth:\n  htpasswd:\n    realm: kiltx-test\n    path: {}\n",
                file.display()
            )
        }
        Auth::Bearer(t) => format!(
            "auth:\n  token:\n    realm: {}/token\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            t.server.url(),
            TokenService::SERVICE,
            TokenService::ISSUER,
            t.cert.display()
        ),
    };
    let config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: kiltx-test-secret\n{auth_yaml}",
        storage.display()
    );
    let config_file = dir.join("config.yml");
    fs::write(&config_file, config).expect("write registry config");
    let mut cmd = hermetic::tool("docker-registry", "apt-get install docker-registry");
    cmd.arg("serve").arg(&config_file);
    Server::spawn("docker-registry", cmd, port, dir.join("log"))
}

/// A Bearer-token service (Python, signing RS256 JWTs with a throwaway certificate).
pub struct TokenService {
    pub server: Server,
    pub cert: PathBuf,
    pub user: String,
    pub password: String,
    count_file: PathBuf,
}

impl TokenService {
    pub const SERVICE: &'static str = "kiltx-test-registry";
    pub const ISSUER: &'static str = "kiltx-test-issuer";

    pub fn start(scratch: &Path, user: &str, password: &str) -> TokenService {
        let dir = scratch.join(format!("token-{}", free_port()));
        fs::create_dir_all(&dir).expect("token dir");
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        let st = hermetic::tool("openssl", "apt-get install openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=kiltx-test-token"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(st.success(), "openssl req failed");
        let script = dir.join("token_server.py");
        fs::write(&script, include_str!("token_server.py")).expect("write token server");
        let count_file = dir.join("requests");
        fs::write(&count_file, "").expect("count file");
        let port = free_port();
        let mut cmd = hermetic::tool("python3", "apt-get install python3");
        cmd.arg(&script)
            .arg(port.to_string())
            .arg(&key)
            .arg(&cert)
            .args([Self::ISSUER, Self::SERVICE, user, password])
            .arg(&count_file);
        let server = Server::spawn("the token service", cmd, port, dir.join("log"));
        TokenService {
            server,
            cert,
            user: user.to_string(),
            password: password.to_string(),
            count_file,
        }
    }

    /// How many token requests it has answered.
    pub fn requests(&self) -> usize {
        fs::read_to_string(&self.count_file)
            .unwrap_or_default()
            .lines()
            .count()
    }
}

/// moto's server (the ECR API) on a free port.
pub fn moto(scratch: &Path) -> Server {
    let port = free_port();
    let mut cmd = hermetic::tool("moto_server", "pip install 'moto[server]'");
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    Server::spawn(
        "moto_server",
        cmd,
        port,
        scratch.join(format!("moto-{port}.log")),
    )
}

/// A minimal HTTP/1.1 exchange (the test registries are plain HTTP on loopback).
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn http(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send request");
    s.write_all(body).expect("send body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..i])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
    out
}

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

/// Push a blob to an anonymous registry at `host`; its digest.
pub fn push_blob(host: &str, repo: &str, blob: &[u8]) -> String {
    let digest = sha256(blob);
    let r = http(
        "POST",
        host,
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    );
    assert_eq!(
        r.status,
        202,
        "start upload: {}",
        String::from_utf8_lossy(&r.body)
    );
    let loc = r.header("location").expect("upload location").to_string();
    let path = loc
        .strip_prefix(&format!("http://{host}"))
        .unwrap_or(&loc)
        .to_string();
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = http(
        "PUT",
        host,
        &format!("{path}{sep}digest={digest}"),
        &[("Content-Type", "application/octet-stream")],
        blob,
    );
    assert_eq!(
        r.status,
        201,
        "upload blob: {}",
        String::from_utf8_lossy(&r.body)
    );
    digest
}

/// Push a manifest (of `media_type`) under `reference` (a tag or its digest); its digest.
pub fn push_manifest(
    host: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> String {
    let r = http(
        "PUT",
        host,
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", media_type)],
        body,
    );
    assert_eq!(
        r.status,
        201,
        "push manifest {repo}:{reference}: {}",
        String::from_utf8_lossy(&r.body)
    );
    sha256(body)
}

/// An image's process: `None` leaves the field out of the config.
#[derive(Clone, Debug)]
pub struct Process {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
}

impl Process {
    pub fn new(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> Process {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Process {
            entrypoint: entrypoint.map(own),
            cmd: cmd.map(own),
        }
    }
}

/// Push one single-platform image (config blob, a layer, a manifest of `media_type`) under
/// `reference`; the manifest's digest.
pub fn push_image(
    host: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    arch: &str,
    p: &Process,
) -> String {
    let oci = media_type == OCI_MANIFEST;
    let mut config = json!({"Env": ["PATH=/usr/bin:/bin"]});
    if let Some(e) = &p.entrypoint {
        config["Entrypoint"] = json!(e);
    }
    if let Some(c) = &p.cmd {
        config["Cmd"] = json!(c);
    }
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    let config = serde_json::to_vec(&config).expect("config");
    let layer = format!("layer of {repo}:{reference} for {arch}").into_bytes();
    let config_digest = push_blob(host, repo, &config);
    let layer_digest = push_blob(host, repo, &layer);
    let (config_type, layer_type) = if oci {
        (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    } else {
        (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer.len()}],
    });
    let body = serde_json::to_vec_pretty(&manifest).expect("manifest");
    push_manifest(host, repo, reference, media_type, &body)
}

/// Push a multi-platform index (`media_type`: OCI index or Docker manifest list) with one image
/// per `(arch, process)`; the index's digest.
pub fn push_index(
    host: &str,
    repo: &str,
    tag: &str,
    media_type: &str,
    platforms: &[(&str, Process)],
) -> String {
    let inner_type = if media_type == OCI_INDEX {
        OCI_MANIFEST
    } else {
        DOCKER_MANIFEST
    };
    let mut entries = Vec::new();
    for (arch, p) in platforms {
        let tmp_tag = format!("{tag}-{arch}");
        let digest = push_image(host, repo, &tmp_tag, inner_type, arch, p);
        let r = http(
            "GET",
            host,
            &format!("/v2/{repo}/manifests/{digest}"),
            &[("Accept", inner_type)],
            b"",
        );
        assert_eq!(r.status, 200);
        let mut platform = json!({"architecture": arch, "os": "linux"});
        if *arch == "arm64" {
            platform["variant"] = json!("v8");
        }
        entries.push(json!({"mediaType": inner_type, "digest": digest, "size": r.body.len(), "platform": platform}));
    }
    // An attestation entry, as buildx writes them: never a platform to pick.
    if let Some(first) = entries.first().cloned() {
        let mut att = first;
        att["platform"] = json!({"architecture": "unknown", "os": "unknown"});
        att["annotations"] = json!({"vnd.docker.reference.type": "attestation-manifest"});
        entries.push(att);
    }
    let index = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": entries});
    let body = serde_json::to_vec_pretty(&index).expect("index");
    push_manifest(host, repo, tag, media_type, &body)
}

/// Parse JSON output, with the text in the panic message.
pub fn json_of(text: &[u8]) -> Value {
    serde_json::from_slice(text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(text)))
}

/// A TCP proxy on 127.0.0.1 that delivers every byte `one_way` after it arrived, in both
/// directions: a network with a round trip of twice that, in front of a local server. Its
/// threads live as long as the process (for benchmarks).
pub fn latency_proxy(target: &str, one_way: Duration) -> u16 {
    use std::sync::mpsc;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().expect("proxy address").port();
    let target = target.to_string();
    let pipe = move |mut from: TcpStream, mut to: TcpStream| {
        let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        std::thread::spawn(move || {
            for (at, bytes) in rx {
                let due = at + one_way;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if to.write_all(&bytes).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    };
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let Ok(upstream) = TcpStream::connect(&target) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            match (client.try_clone(), upstream.try_clone()) {
                (Ok(c2), Ok(u2)) => {
                    pipe(client, upstream);
                    pipe(u2, c2);
                }
                _ => continue,
            }
        }
    });
    port
}
