//! Domain verification as Microsoft does it: asking DNS for the domain's TXT records. The
//! simulator asks one configured nameserver (`SimConfig::dns_nameserver`, e.g. the
//! authoritative server the tests run) over TCP, so what Teamline published is what counts.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The TXT values `server` answers for `domain`; `Err` with a reason when it cannot be asked.
pub(crate) async fn txt_values(server: SocketAddr, domain: &str) -> Result<Vec<String>, String> {
    let name = Name::from_ascii(format!("{}.", domain.trim_end_matches('.')))
        .map_err(|e| format!("'{domain}' is not a DNS name ({e})"))?;
    let mut query = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    query.add_query(Query::query(name.clone(), RecordType::TXT));
    let wire = query.to_vec().map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(3), exchange(server, &wire))
        .await
        .map_err(|_| format!("the DNS server {server} did not answer"))??;
    let answer = Message::from_vec(&answer).map_err(|e| e.to_string())?;
    let lower = name.to_lowercase();
    Ok(answer
        .answers
        .iter()
        .filter(|r| r.name.to_lowercase() == lower)
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
            _ => None,
        })
        .collect())
}

async fn exchange(server: SocketAddr, request: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| format!("cannot reach the DNS server {server} ({e})"))?;
    let length = u16::try_from(request.len()).map_err(|_| "query too long".to_owned())?;
    let mut framed = length.to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    let broken = |e: std::io::Error| format!("the DNS server {server} broke the connection ({e})");
    stream.write_all(&framed).await.map_err(broken)?;
    let n = stream.read_u16().await.map_err(broken)?;
    let mut answer = vec![0; usize::from(n)];
    stream.read_exact(&mut answer).await.map_err(broken)?;
    Ok(answer)
}
