//! One DNS message exchange over TCP (RFC 1035 §4.2.2: each message preceded by its length).
//!
//! TCP rather than UDP: updates and their signed answers are never truncated, and a refused
//! connection tells at once that the server is down.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::settings::ServerAddress;
use crate::DnsError;

/// Sends `request` to `server` and returns the raw answer.
pub(crate) async fn exchange(
    server: &ServerAddress,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, DnsError> {
    let timed_out = || DnsError::Timeout {
        server: server.to_string(),
        secs: timeout.as_secs().max(1),
    };
    tokio::time::timeout(timeout, send_and_receive(server, request))
        .await
        .map_err(|_| timed_out())?
}

async fn send_and_receive(server: &ServerAddress, request: &[u8]) -> Result<Vec<u8>, DnsError> {
    let mut stream = connect(server).await?;
    let broken = |e: std::io::Error| DnsError::Protocol {
        server: server.to_string(),
        detail: format!("the connection broke ({e})"),
    };
    let length = u16::try_from(request.len()).map_err(|_| DnsError::Protocol {
        server: server.to_string(),
        detail: "the request does not fit in one DNS message".to_owned(),
    })?;
    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await.map_err(broken)?;
    let answer_length = stream.read_u16().await.map_err(broken)?;
    let mut answer = vec![0; usize::from(answer_length)];
    stream.read_exact(&mut answer).await.map_err(broken)?;
    Ok(answer)
}

async fn connect(server: &ServerAddress) -> Result<TcpStream, DnsError> {
    let unreachable = |detail: String| DnsError::Unreachable {
        server: server.to_string(),
        detail,
    };
    let addresses = tokio::net::lookup_host((server.host(), server.port()))
        .await
        .map_err(|e| unreachable(format!("cannot resolve `{}` ({e})", server.host())))?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(format!("{address}: {e}")),
        }
    }
    Err(unreachable(last.unwrap_or_else(|| {
        format!("`{}` has no address", server.host())
    })))
}
