//! The whole call path on loopback, every piece real: sipp phones → the stand-in PBX (Kamailio
//! registrar/proxy from `teamline_sim`) → the gateway (Kamailio + rtpengine) → a stand-in for
//! Microsoft's SIP proxies and media processor (Kamailio over mutual TLS + its own rtpengine)
//! → sipp playing the Teams clients. Certificates are made here with rcgen.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};
use teamline_domain::pbx_location::DnsLookup;

use super::node::{
    GatewayNode, LOCALHOST, Pbx, RTPENGINE_PORTS, desired_in, free_port, gateway_settings,
    random_u64, require_tool, service, wait_all_registered,
};
use crate::calls::health::{self, ProxyState};
use crate::calls::{CallRecord, CallRecords, EventStream};
use crate::config::{
    CertificateFiles, DirectRouting, Events, Keepalive, Media, MicrosoftProxy, Region, TlsListener,
};
use crate::dns::DnsSettings;
use crate::media::MediaClient;
use crate::media::process::{Rtpengine, RtpengineSettings};
use crate::registration::DesiredRegistration;
use crate::trace::TraceListener;

pub const REGION_FQDN: &str = "use2.sbc.test";
pub const TENANT_FQDN: &str = "contoso.use2.sbc.test";

/// A CA, and a certificate it signed for `names`.
pub struct Pki {
    pub ca_pem: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path, name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{name} test CA"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        let ca_pem = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&ca_pem, cert.pem()).unwrap();
        Pki {
            ca_pem,
            issuer: Issuer::new(params, key),
            dir: dir.to_owned(),
        }
    }

    pub fn issue(&self, file: &str, names: &[&str]) -> CertificateFiles {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names[0]);
        params.distinguished_name = dn;
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let files = CertificateFiles {
            cert_pem: self.dir.join(format!("{file}.crt")),
            key_pem: self.dir.join(format!("{file}.key")),
        };
        std::fs::write(&files.cert_pem, cert.pem()).unwrap();
        std::fs::write(&files.key_pem, key.serialize_pem()).unwrap();
        files
    }
}

/// A block of media ports held for one rtpengine of this machine's tests: one lock file per
/// 100 ports, held (flock) while the rtpengine runs and let go when the process ends, however
/// it ends. rtpengine binds its media sockets so that a second rtpengine on the same ports gets
/// them too and the kernel hands each packet to one of the two: two rtpengines sharing a block
/// made SRTP fail to decrypt and media vanish. The OS cannot be asked for a free block.
pub struct PortBlock {
    pub ports: (u16, u16),
    _locks: Vec<std::fs::File>,
}

/// Media ports an rtpengine needs per call: RTP and RTCP on each of its two sides, twice over
/// (a re-INVITE may move a side to new ports while the old ones are still held).
pub const MEDIA_PORTS_PER_CALL: u32 = 8;

impl PortBlock {
    /// One block of 100 ports: enough for the tests' few calls at a time.
    pub fn take() -> PortBlock {
        Self::take_blocks(1)
    }

    /// Ports for `calls` calls at once ([`MEDIA_PORTS_PER_CALL`] each) and 100 more; `None`
    /// when the tests' range cannot hold that many.
    pub fn for_calls(calls: u32) -> Option<PortBlock> {
        let blocks = (calls * MEDIA_PORTS_PER_CALL + 100).div_ceil(100);
        // Half the range at most: a test stack runs two rtpengines (the gateway's, Microsoft's).
        (blocks <= u32::from(Self::blocks_in_range() / 2))
            .then(|| Self::take_blocks(u16::try_from(blocks).unwrap_or(1)))
    }

    /// The most calls at once `for_calls` has ports for.
    pub fn max_calls() -> u32 {
        (u32::from(Self::blocks_in_range() / 2) * 100 - 100) / MEDIA_PORTS_PER_CALL
    }

    fn blocks_in_range() -> u16 {
        (RTPENGINE_PORTS.end - RTPENGINE_PORTS.start) / 100
    }

    /// `n` consecutive blocks of 100, each locked.
    fn take_blocks(n: u16) -> PortBlock {
        let dir = std::env::temp_dir().join("teamline-test-rtpengine-blocks");
        std::fs::create_dir_all(&dir).unwrap();
        let starts = Self::blocks_in_range() - n + 1;
        loop {
            let first = u16::try_from(random_u64() % u64::from(starts)).unwrap();
            let mut locks = Vec::new();
            for block in first..first + n {
                let file = std::fs::File::create(dir.join(format!("{block}.lock"))).unwrap();
                if file.try_lock().is_err() {
                    break;
                }
                locks.push(file);
            }
            if locks.len() == usize::from(n) {
                let base = RTPENGINE_PORTS.start + first * 100;
                return PortBlock {
                    ports: (base, base + n * 100 - 1),
                    _locks: locks,
                };
            }
            // A block of another test is in the way: let go of ours and try elsewhere.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// rtpengine settings for a test, on `block`'s ports.
pub fn rtpengine_settings(dir: &Path, name: &str, block: &PortBlock) -> RtpengineSettings {
    require_tool("rtpengine", "rtpengine-daemon");
    RtpengineSettings {
        bin: PathBuf::from("rtpengine"),
        interface: LOCALHOST,
        ng: SocketAddr::new(LOCALHOST, free_port()),
        ports: block.ports,
        delete_delay_secs: 30,
        threads: 2,
        log: dir.join(format!("rtpengine-{name}.log")),
    }
}

/// A Kamailio process from a config file, in its own process group; killed on drop.
pub struct KamailioProc {
    child: Child,
}

impl KamailioProc {
    fn start(cfg: &Path, dir: &Path, name: &str) -> KamailioProc {
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(cfg)
            .args(["-DD", "-E", "-m", "64", "-M", "16"])
            .arg("-P")
            .arg(dir.join(format!("{name}.pid")))
            .arg("-Y")
            .arg(dir)
            .arg("-w")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("kamailio starts");
        KamailioProc { child }
    }
}

impl Drop for KamailioProc {
    fn drop(&mut self) {
        super::node::crash(self.child.id());
        let _ = self.child.wait();
    }
}

/// The stand-in for Microsoft's proxies (two TLS listeners: `sip` and `sip2`) and media
/// processor.
pub struct Microsoft {
    pub proxies: [SocketAddr; 2],
    /// Where it sends calls for Teams users (sipp as the Teams client).
    pub teams_uas: SocketAddr,
    /// Where sipp playing a Teams client sends its calls.
    pub udp: SocketAddr,
    rpc: u16,
    pub media: MediaClient,
    _rtpengine: Rtpengine,
    _ports: PortBlock,
    _kamailio: KamailioProc,
}

impl Microsoft {
    pub async fn start(
        dir: &Path,
        cert: &CertificateFiles,
        ca: &Path,
        sbc_tls: u16,
        block: PortBlock,
    ) -> Microsoft {
        let dir = dir.join("microsoft");
        std::fs::create_dir_all(&dir).unwrap();
        let rtpe = Rtpengine::start(&rtpengine_settings(&dir, "microsoft", &block))
            .await
            .expect("Microsoft's stand-in rtpengine starts");
        let (tls1, tls2, udp, rpc, teams) = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        );
        std::fs::write(
            dir.join("tls.cfg"),
            format!(
                "[server:default]\nmethod = TLSv1.2+\ncertificate = {c}\nprivate_key = {k}\nca_list = {ca}\nverify_certificate = yes\nrequire_certificate = yes\n\n[client:default]\nmethod = TLSv1.2+\ncertificate = {c}\nprivate_key = {k}\nca_list = {ca}\nverify_certificate = yes\nrequire_certificate = yes\n",
                c = cert.cert_pem.display(),
                k = cert.key_pem.display(),
                ca = ca.display()
            ),
        )
        .unwrap();
        let cfg = include_str!("microsoft.cfg")
            .replace("@TLS1@", &tls1.to_string())
            .replace("@TLS2@", &tls2.to_string())
            .replace("@UDP@", &udp.to_string())
            .replace("@RPC@", &rpc.to_string())
            .replace("@DIR@", &dir.display().to_string())
            .replace("@NG@", &rtpe.client().addr().port().to_string())
            .replace("@TEAMS_UAS@", &teams.to_string())
            .replace("@SBC_TLS@", &sbc_tls.to_string())
            .replace("@SBC_DOMAIN_RE@", &REGION_FQDN.replace('.', "\\."));
        let cfg_path = dir.join("microsoft.cfg");
        std::fs::write(&cfg_path, cfg).unwrap();
        let kamailio = KamailioProc::start(&cfg_path, &dir, "microsoft");
        let me = Microsoft {
            proxies: [
                SocketAddr::new(LOCALHOST, tls1),
                SocketAddr::new(LOCALHOST, tls2),
            ],
            teams_uas: SocketAddr::new(LOCALHOST, teams),
            udp: SocketAddr::new(LOCALHOST, udp),
            rpc,
            media: rtpe.client(),
            _rtpengine: rtpe,
            _ports: block,
            _kamailio: kamailio,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while me.rpc("core.version", &[]).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "Microsoft's stand-in did not start; see {}",
                dir.join("microsoft.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        me
    }

    pub async fn rpc(&self, method: &str, params: &[&str]) -> Option<serde_json::Value> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let resp = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/RPC", self.rpc))
            .json(&body)
            .send()
            .await
            .ok()?;
        let v: serde_json::Value = resp.json().await.ok()?;
        v.get("result").cloned()
    }

    /// What the last request from the SBC carried (`invite_contact`, `options_allow`, …).
    pub async fn seen(&self, key: &str) -> Option<String> {
        let v = self.rpc("htable.get", &["seen", key]).await?;
        v.get("item")?.get("value")?.as_str().map(str::to_owned)
    }

    /// Makes the proxy on `proxies[i]` stop answering anything (or answer again).
    pub async fn set_down(&self, i: usize, down: bool) {
        if down {
            self.set_fault(i, "drop").await;
        } else {
            let port = self.proxies[i].port().to_string();
            self.rpc("htable.delete", &["fault", &port]).await;
        }
    }

    /// Makes the proxy on `proxies[i]` answer OPTIONS but refuse every new call with 503.
    pub async fn refuse_calls(&self, i: usize) {
        self.set_fault(i, "invite503").await;
    }

    async fn set_fault(&self, i: usize, fault: &str) {
        let port = self.proxies[i].port().to_string();
        self.rpc("htable.sets", &["fault", &port, fault]).await;
    }
}

/// The whole path, with Adele's `1000tm` registered and paired with +11000 at Contoso's
/// tenant FQDN.
pub struct Stack {
    pub dir: PathBuf,
    pub pbx: Pbx,
    pub microsoft: Microsoft,
    pub node: GatewayNode,
    pub adele: DesiredRegistration,
    pub media: MediaClient,
    pub events: EventStream,
    /// Every SIP message the gateway received or sent, as `siptrace` copies it (HEP3).
    pub trace: TraceListener,
    rtpengine: Option<Rtpengine>,
    _ports: PortBlock,
}

pub struct StackOptions {
    /// Microsoft's stand-in presents a certificate from a CA the gateway does not trust.
    pub untrusted_microsoft: bool,
    /// The gateway presents a certificate from a CA Microsoft's stand-in does not trust.
    pub untrusted_sbc: bool,
    pub keepalive: Keepalive,
    /// Media ports for this many calls at once on each rtpengine (`PortBlock::for_calls`);
    /// `None`: one block of 100.
    pub media_calls: Option<u32>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            untrusted_microsoft: false,
            untrusted_sbc: false,
            keepalive: Keepalive {
                interval: Duration::from_secs(1),
                // Two: under load one OPTIONS can miss its 1 s transaction timeout, and a
                // proxy marked down for that would refuse a test's call with 503.
                failures_before_down: 2,
                successes_before_up: 1,
            },
            media_calls: None,
        }
    }
}

impl Stack {
    pub async fn start(dir: &Path) -> Stack {
        Self::start_with(dir, StackOptions::default()).await
    }

    pub async fn start_with(dir: &Path, opts: StackOptions) -> Stack {
        require_tool("sipp", "sip-tester");
        write_audio(dir);
        let pki = Pki::new(dir, "trusted");
        let sbc_names = [format!("*.{REGION_FQDN}"), REGION_FQDN.to_owned()];
        let sbc_names: Vec<&str> = sbc_names.iter().map(String::as_str).collect();
        let sbc_cert = if opts.untrusted_sbc {
            Pki::new(dir, "rogue-sbc").issue("sbc", &sbc_names)
        } else {
            pki.issue("sbc", &sbc_names)
        };
        let ms_cert = if opts.untrusted_microsoft {
            Pki::new(dir, "rogue").issue("microsoft", &["sip.pstnhub.test"])
        } else {
            pki.issue("microsoft", &["sip.pstnhub.test", "sip2.pstnhub.test"])
        };
        let block = || match opts.media_calls {
            Some(calls) => PortBlock::for_calls(calls).unwrap_or_else(|| {
                panic!("media ports for {calls} calls at once do not fit the tests' port range")
            }),
            None => PortBlock::take(),
        };
        let pbx = Pbx::start(dir).await;
        let sbc_tls = free_port();
        let microsoft = Microsoft::start(dir, &ms_cert, &pki.ca_pem, sbc_tls, block()).await;
        let block = block();
        let rtpe = Rtpengine::start(&rtpengine_settings(dir, "gateway", &block))
            .await
            .expect("the gateway's rtpengine starts");
        let trace = TraceListener::bind(SocketAddr::new(LOCALHOST, free_port()))
            .await
            .expect("the SIP trace listener binds");
        let trace_addr = trace
            .local_addr()
            .expect("the SIP trace listener's address");
        let mut settings = gateway_settings(dir);
        settings.direct_routing = Some(DirectRouting {
            tls: TlsListener {
                addr: LOCALHOST,
                port: sbc_tls,
            },
            regions: vec![Region {
                name: "us-east-2".to_owned(),
                base_fqdn: REGION_FQDN.to_owned(),
                certificate: sbc_cert,
                proxies: vec![
                    MicrosoftProxy {
                        fqdn: "sip.pstnhub.test".to_owned(),
                        address: Some(microsoft.proxies[0]),
                    },
                    MicrosoftProxy {
                        fqdn: "sip2.pstnhub.test".to_owned(),
                        address: Some(microsoft.proxies[1]),
                    },
                ],
            }],
            trusted_cas: pki.ca_pem.clone(),
            verify_peers: true,
            keepalive: opts.keepalive,
            media: Media {
                ng: rtpe.client().addr(),
            },
            events: Events {
                listen: SocketAddr::new(LOCALHOST, free_port()),
            },
            sip_trace: Some(trace_addr),
            session_expires_secs: 1800,
        });
        let events_addr = settings
            .direct_routing
            .as_ref()
            .map(|d| d.events.listen)
            .unwrap();
        let node = GatewayNode::start_with(settings, dir).await;
        let events = EventStream::connect(events_addr)
            .await
            .expect("the gateway's call events");
        let svc = service(&node, DnsSettings::default());
        let adele = desired_in(
            "contoso",
            "1000tm",
            "+11000",
            &pbx.password("1000tm"),
            pbx.proxy(),
            DnsLookup::A,
        );
        let mut adele = adele;
        adele.sbc_fqdn = TENANT_FQDN.to_owned();
        svc.upsert(adele.clone());
        wait_all_registered(&svc).await;
        let trusted = !opts.untrusted_microsoft && !opts.untrusted_sbc;
        let stack = Stack {
            dir: dir.to_owned(),
            pbx,
            microsoft,
            media: rtpe.client(),
            node,
            adele,
            events,
            trace,
            rtpengine: Some(rtpe),
            _ports: block,
        };
        if trusted {
            stack.wait_proxies_up().await;
        }
        stack
    }

    /// Waits until dispatcher has every Microsoft proxy up: calls to Teams go through.
    async fn wait_proxies_up(&self) {
        let dr = self.node.settings.direct_routing.as_ref().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let regions = health::region_health(&self.node.rpc, dr).await.unwrap();
            if regions
                .iter()
                .all(|r| r.proxies.iter().all(|p| p.state == ProxyState::Up))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Microsoft's proxies never all came up: {regions:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the next finished call record.
    pub async fn next_record(&mut self, records: &mut CallRecords) -> CallRecord {
        let deadline = Duration::from_secs(30);
        tokio::time::timeout(deadline, async {
            loop {
                let ev = self.events.next().await.expect("a call event");
                if let Some(r) = records.apply(&ev) {
                    return r;
                }
            }
        })
        .await
        .expect("a call record within 30 s")
    }
}

/// Two seconds of a 400 Hz tone in G.711 µ-law, in a WAV file sipp streams as RTP.
pub fn write_audio(dir: &Path) {
    let samples: Vec<u8> = (0..16000)
        .map(|i| {
            let x = (f64::from(i) * 2.0 * std::f64::consts::PI * 400.0 / 8000.0).sin();
            linear_to_ulaw((x * 8000.0) as i16)
        })
        .collect();
    let mut wav = Vec::new();
    let data_len = samples.len() as u32;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&7u16.to_le_bytes()); // µ-law
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(&samples);
    std::fs::write(dir.join("audio.wav"), wav).unwrap();
}

fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = (s + BIAS).min(32635);
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// sipp scenarios for the call path, as files the tests and `teamline bench calls` give sipp.
pub mod scenarios {
    /// A caller: INVITE `[service]` (digest on a challenge), audio for `-d` ms, then BYE.
    pub const CALL: &str = include_str!("../../tests/it/sipp/calls/call.xml");
    /// A callee that rings, answers with PCMU, plays audio and hangs up when the caller does.
    pub const ANSWER: &str = include_str!("../../tests/it/sipp/calls/answer.xml");
    /// A caller whose call the other side refuses (any final error ends it cleanly).
    pub const REFUSED: &str = include_str!("../../tests/it/sipp/calls/refused.xml");
    /// A desk phone registering `[device]@contoso` with its Contact on `[contact_port]`.
    pub const REGISTER: &str = include_str!("../../tests/it/sipp/calls/register.xml");
}

impl Stack {
    /// The gateway's rtpengine process (its own process group).
    pub fn rtpengine_pid(&self) -> u32 {
        self.rtpengine.as_ref().map_or(0, Rtpengine::pid)
    }

    /// Stops the gateway's rtpengine (killed, as a crash would): its control socket is gone.
    pub async fn stop_rtpengine(&mut self) {
        if let Some(r) = self.rtpengine.take() {
            r.stop().await;
        }
    }

    /// Registers `contact_port` on this host as `device`'s binding at the stand-in PBX (a desk
    /// phone whose answering sipp listens there); false when the registrar refused it.
    pub fn register_binding(&self, device: &str, contact_port: u16) -> bool {
        let scenario = self.dir.join("register.xml");
        if std::fs::write(&scenario, scenarios::REGISTER).is_err() {
            return false;
        }
        let pw = self.pbx.password(device);
        Command::new("sipp")
            .arg(self.pbx.registrar.sip_addr().to_string())
            .arg("-sf")
            .arg(&scenario)
            .args(["-i", "127.0.0.1", "-p"])
            .arg(free_port().to_string())
            .args(["-key", "device", device, "-key", "contact_port"])
            .arg(contact_port.to_string())
            .args(["-au", device, "-ap", &pw, "-m", "1", "-nostdin"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}
