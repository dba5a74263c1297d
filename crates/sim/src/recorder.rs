//! An HTTP listener that records everything it receives: the stranger's host a leaked
//! credential would go to. Tests point a setting at it and then assert what it saw — every
//! connection, every request line, header and body — or that it saw nothing at all.
//!
//! It either answers every request with a fixed [`Answer`] (a host that is not a PBX: a
//! banner, an error page) or forwards each request to an upstream service and relays the answer
//! ([`RecordingServer::forwarding_to`]), so it can sit in front of a simulator and record which
//! credentials were sent where. One request per connection (`Connection: close`), HTTP/1.1
//! without TLS: a TLS handshake shows up as a connection without a request.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The fixed answer of a [`RecordingServer`].
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} Answer\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target, e.g. `/ns-api/v2/domains/contoso/users?limit=1000`.
    pub target: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Recorded {
    connections: usize,
    requests: Vec<RecordedRequest>,
}

enum Behaviour {
    Answer(Answer),
    Forward(SocketAddr),
}

/// A running recording listener on 127.0.0.1; stops when dropped.
pub struct RecordingServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    recorded: Arc<Mutex<Recorded>>,
    task: JoinHandle<()>,
}

impl RecordingServer {
    /// Answers every request with `answer`.
    pub async fn answering(answer: Answer) -> io::Result<Self> {
        Self::start(Behaviour::Answer(answer)).await
    }

    /// Forwards every request to `upstream` (e.g. `http://127.0.0.1:41234`) and relays its
    /// answer.
    pub async fn forwarding_to(upstream: &str) -> io::Result<Self> {
        let addr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse::<SocketAddr>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Self::start(Behaviour::Forward(addr)).await
    }

    async fn start(behaviour: Behaviour) -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let behaviour = Arc::new(behaviour);
        let shared = recorded.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                lock(&shared).connections += 1;
                let shared = shared.clone();
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, &shared, &behaviour).await {
                        tracing::debug!(error = %e, "recording listener: connection ended");
                    }
                });
            }
        });
        Ok(Self {
            base_url,
            recorded,
            task,
        })
    }

    /// How many TCP connections were accepted (with or without a readable request).
    pub fn connections(&self) -> usize {
        lock(&self.recorded).connections
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.recorded).requests.clone()
    }

    /// Every `Authorization` header received.
    pub fn authorization_headers(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_owned))
            .collect()
    }

    /// Whether `needle` appeared anywhere in a request (target, a header value or the body).
    pub fn received(&self, needle: &str) -> bool {
        self.requests().iter().any(|r| {
            r.target.contains(needle)
                || r.body.contains(needle)
                || r.headers.iter().any(|(_, v)| v.contains(needle))
        })
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(m: &Mutex<Recorded>) -> MutexGuard<'_, Recorded> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The longest request head read; anything longer is not a request a test sends.
const MAX_HEAD: usize = 64 * 1024;

async fn serve(
    mut stream: TcpStream,
    recorded: &Mutex<Recorded>,
    behaviour: &Behaviour,
) -> io::Result<()> {
    let Some((request, raw_head, body)) = read_request(&mut stream).await? else {
        return Ok(());
    };
    lock(recorded).requests.push(request);
    match behaviour {
        Behaviour::Answer(answer) => stream.write_all(&answer.to_bytes()).await?,
        Behaviour::Forward(upstream) => {
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(&close_after(&raw_head)).await?;
            up.write_all(&body).await?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).await?;
            stream.write_all(&answer).await?;
        }
    }
    stream.shutdown().await
}

/// Reads one request: the parsed request, its raw head and its raw body. `None` when the
/// connection closed or sent something that is not an HTTP request (e.g. a TLS handshake).
async fn read_request(
    stream: &mut TcpStream,
) -> io::Result<Option<(RecordedRequest, String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let Ok(head) = String::from_utf8(buf[..head_end].to_vec()) else {
        return Ok(None);
    };
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return Ok(None);
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let request = RecordedRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    Ok(Some((request, head, body)))
}

/// The request head with `Connection: close`, so the upstream ends its answer by closing.
fn close_after(head: &str) -> Vec<u8> {
    let mut out: Vec<&str> = head
        .split("\r\n")
        .filter(|l| {
            !l.to_ascii_lowercase().starts_with("connection:")
                && !l.to_ascii_lowercase().starts_with("keep-alive:")
        })
        .collect();
    out.push("connection: close");
    format!("{}\r\n\r\n", out.join("\r\n")).into_bytes()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
