//! Small helpers the fixtures share.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::Path;

/// Whether `bin` is on `PATH` (or is a path to a file); the error names the package to install.
pub fn require_tool(bin: &str, package: &str) -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
        || Path::new(bin).is_file();
    if found {
        Ok(())
    } else {
        Err(format!(
            "`{bin}` is not installed: these tests run the real thing. Run scripts/test.sh (it \
             installs the Debian package `{package}`), or `apt-get install {package}`"
        ))
    }
}

/// A loopback port that was free on both TCP and UDP a moment ago (DNS serves both).
pub fn free_port() -> std::io::Result<u16> {
    loop {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
}
