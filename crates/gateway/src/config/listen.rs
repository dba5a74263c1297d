//! Listening sockets: SIP listeners (public or private) and the JSON-RPC listener (never
//! public).

use std::net::{IpAddr, Ipv4Addr};

use secrecy::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// A SIP listener. Part 2 adds TLS listeners (one certificate per SBC domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub transport: Transport,
    pub addr: IpAddr,
    pub port: u16,
    /// The address to advertise in Via/Contact when Kamailio sits behind NAT (`host[:port]`).
    pub advertise: Option<String>,
}

impl Listener {
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        Listener {
            transport: Transport::Udp,
            addr,
            port,
            advertise: None,
        }
    }

    /// `proto:addr:port[ advertise host:port]` as Kamailio's `listen` wants it.
    pub fn kamailio_socket(&self) -> String {
        let base = format!(
            "{}:{}",
            self.transport.as_str(),
            host_port(self.addr, self.port)
        );
        match &self.advertise {
            Some(a) => format!("{base} advertise {a}"),
            None => base,
        }
    }

    /// What the PBX should send to: the advertised address, or the listener's own.
    pub fn host_port(&self) -> String {
        match &self.advertise {
            Some(a) => a.clone(),
            None => host_port(self.addr, self.port),
        }
    }
}

/// Kamailio's JSON-RPC endpoint (HTTP, `POST /RPC`).
#[derive(Debug, Clone)]
pub struct RpcListener {
    /// Loopback or a private address: the RPC hands out SIP passwords.
    pub addr: IpAddr,
    pub port: u16,
    /// When set, every RPC request must carry `Authorization: Bearer <token>` (useful when the
    /// listener is on a shared private network).
    pub token: Option<SecretString>,
}

impl RpcListener {
    pub fn loopback(port: u16) -> Self {
        RpcListener {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            token: None,
        }
    }

    pub fn socket(&self) -> String {
        host_port(self.addr, self.port)
    }

    /// The URL Teamline's RPC client uses.
    pub fn url(&self) -> String {
        format!("http://{}/RPC", self.socket())
    }
}

pub(crate) fn host_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Loopback, RFC 1918, shared address space (RFC 6598), IPv6 unique-local: addresses the
/// internet cannot reach. The unspecified address (`0.0.0.0`, `::`) binds every interface,
/// public ones included, so it is refused too.
pub fn is_private_or_loopback(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let [o1, o2, ..] = a.octets();
            a.is_loopback() || a.is_private() || (o1 == 100 && (64..128).contains(&o2))
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_private_or_loopback(IpAddr::V4(v4));
            }
            a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}
