use super::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn settings(rpc: IpAddr) -> GatewaySettings {
    GatewaySettings::new(
        "gw-test",
        Listener::udp(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)), 5060),
        RpcListener {
            addr: rpc,
            port: 5080,
            token: None,
        },
        "/var/lib/teamline-gateway",
    )
}

#[test]
fn a_public_rpc_address_is_refused_with_the_fix() {
    for addr in [
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "2001:db8::1".parse().unwrap(),
    ] {
        let err = settings(addr).render().unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ConfigError::PublicRpcAddress { .. }),
            "{addr}"
        );
        assert!(
            msg.contains("127.0.0.1") && msg.contains(&addr.to_string()),
            "{msg}"
        );
    }
}

#[test]
fn loopback_and_private_rpc_addresses_are_accepted() {
    for addr in [
        "127.0.0.1",
        "10.1.2.3",
        "172.20.0.5",
        "192.168.1.9",
        "100.64.0.1",
        "::1",
        "fd00::5",
    ] {
        let addr: IpAddr = addr.parse().unwrap();
        assert!(settings(addr).render().is_ok(), "{addr}");
    }
}

#[test]
fn the_config_binds_rpc_where_asked_and_registers_with_retries() {
    let cfg = settings("10.0.0.7".parse().unwrap()).render().unwrap();
    let text = cfg.file("kamailio.cfg").unwrap();
    assert!(text.contains("listen=udp:203.0.113.10:5060"), "{text}");
    assert!(text.contains("listen=tcp:10.0.0.7:5080"));
    assert!(text.contains(r#"$Ri != "10.0.0.7""#));
    assert!(text.contains(r#"modparam("uac", "reg_retry_interval", 30)"#));
    assert!(text.contains(r#"modparam("uac", "reg_contact_addr", "203.0.113.10:5060")"#));
    assert!(text.contains("text:///var/lib/teamline-gateway/uacreg-db"));
    assert!(!text.contains("Bearer"), "no token configured");
    assert_eq!(
        cfg.file("uacreg-db/version"),
        Some("id(int,auto) table_name(string) table_version(int)\n0:uacreg:5\n")
    );
}

#[test]
fn a_token_is_checked_but_never_shown_in_debug() {
    let mut s = settings("127.0.0.1".parse().unwrap());
    s.rpc.token = Some(rpc_token("s3cret-token"));
    let cfg = s.render().unwrap();
    assert!(
        cfg.file("kamailio.cfg")
            .unwrap()
            .contains("Bearer s3cret-token")
    );
    assert!(!format!("{s:?}").contains("s3cret"));
    assert!(!format!("{cfg:?}").contains("s3cret"));
    s.rpc.token = Some(rpc_token("bad\"token"));
    assert!(matches!(
        s.render(),
        Err(ConfigError::Invalid {
            setting: "RPC token",
            ..
        })
    ));
}

#[test]
fn zero_retry_interval_is_refused() {
    let mut s = settings("127.0.0.1".parse().unwrap());
    s.registrations.retry_interval_secs = 0;
    let err = s.render().unwrap_err().to_string();
    assert!(err.contains("retry interval"), "{err}");
}

#[test]
fn hash_tables_grow_with_the_expected_records() {
    let mut t = RegistrationTimers {
        expected_records: 10,
        ..RegistrationTimers::default()
    };
    assert_eq!(t.hash_size_exponent(), 4);
    t.expected_records = 10_000;
    assert_eq!(t.hash_size_exponent(), 12);
    t.expected_records = u32::MAX;
    assert_eq!(t.hash_size_exponent(), 16);
}

#[test]
fn ipv6_listeners_are_bracketed() {
    let l = Listener::udp("2001:db8::5".parse().unwrap(), 5060);
    assert_eq!(l.kamailio_socket(), "udp:[2001:db8::5]:5060");
}

#[test]
fn a_retry_interval_within_the_register_timeout_is_refused() {
    let mut s = settings("127.0.0.1".parse().unwrap());
    s.registrations.register_timeout = std::time::Duration::from_secs(5);
    s.registrations.retry_interval_secs = 5;
    let err = s.render().unwrap_err().to_string();
    assert!(err.contains("longer than the REGISTER timeout"), "{err}");
    s.registrations.retry_interval_secs = 6;
    assert!(s.render().is_ok());
}

pub(crate) fn direct_routing(dir: &std::path::Path) -> DirectRouting {
    DirectRouting {
        tls: TlsListener {
            addr: "127.0.0.1".parse().unwrap(),
            port: 5061,
        },
        regions: vec![Region {
            name: "us-east-2".to_owned(),
            base_fqdn: "use2.sbc.example.net".to_owned(),
            certificate: CertificateFiles {
                cert_pem: dir.join("use2.crt"),
                key_pem: dir.join("use2.key"),
            },
            proxies: MICROSOFT_PROXIES
                .iter()
                .map(|p| MicrosoftProxy::new(*p))
                .collect(),
        }],
        trusted_cas: dir.join("ca.pem"),
        verify_peers: true,
        keepalive: Keepalive::default(),
        media: Media {
            ng: "127.0.0.1:2223".parse().unwrap(),
        },
        events: Events {
            listen: "127.0.0.1:5099".parse().unwrap(),
        },
        sip_trace: None,
        session_expires_secs: 1800,
    }
}

#[test]
fn direct_routing_renders_tls_dispatcher_and_call_routing() {
    let mut s = settings("127.0.0.1".parse().unwrap());
    s.direct_routing = Some(direct_routing(std::path::Path::new("/etc/teamline/certs")));
    let cfg = s.render().unwrap();
    let text = cfg.file("kamailio.cfg").unwrap();
    assert!(text.contains("listen=tls:127.0.0.1:5061"), "{text}");
    assert!(text.contains(r#"modparam("corex", "alias_subdomains", "use2.sbc.example.net")"#));
    assert!(text.contains("route(CALLS);"));
    let list = cfg.file("dispatcher.list").unwrap();
    assert!(
        list.contains("1 sip:sip.pstnhub.microsoft.com:5061;transport=tls 8 100"),
        "{list}"
    );
    assert!(list.contains("1 sip:sip3.pstnhub.microsoft.com:5061;transport=tls 8 98"));
    let tls = cfg.file("tls.cfg").unwrap();
    assert!(tls.contains("server_name = use2.sbc.example.net"), "{tls}");
    assert!(tls.contains("certificate = /etc/teamline/certs/use2.crt"));
}

#[test]
fn call_events_on_a_public_address_are_refused() {
    let mut s = settings("127.0.0.1".parse().unwrap());
    let mut dr = direct_routing(std::path::Path::new("/etc/teamline/certs"));
    dr.events.listen = "203.0.113.9:5099".parse().unwrap();
    s.direct_routing = Some(dr);
    let err = s.render().unwrap_err().to_string();
    assert!(err.contains("203.0.113.9:5099"), "{err}");
}

#[test]
fn a_region_name_kamailio_cannot_hold_is_refused_with_the_rule() {
    let mut s = settings("127.0.0.1".parse().unwrap());
    let mut dr = direct_routing(std::path::Path::new("/etc/teamline/certs"));
    dr.regions[0].name = "US East 2".to_owned();
    s.direct_routing = Some(dr);
    let err = s.render().unwrap_err().to_string();
    assert!(
        err.contains("`US East 2`") && err.contains("us-east-2"),
        "{err}"
    );
}
