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
use teamline_gateway::calls::health::{self, ProxyState};
use teamline_gateway::calls::{CallRecord, CallRecords, EventStream};
use teamline_gateway::config::{
    CertificateFiles, DirectRouting, Events, Keepalive, Media, MicrosoftProxy, Region, TlsListener,
};
use teamline_gateway::dns::DnsSettings;
use teamline_gateway::media::process::{Rtpengine, RtpengineSettings};
use teamline_gateway::media::{MediaClient, MediaLeg};
use teamline_gateway::registration::DesiredRegistration;
use teamline_gateway::trace::TraceListener;

use crate::harness::{
    GatewayNode, LOCALHOST, Pbx, RTPENGINE_PORTS, desired_in, free_media_ports, free_port,
    gateway_settings, random_u64, require_tool, service, wait_all_registered,
};

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

/// A block of 100 media ports held for one rtpengine of this machine's tests: a lock file per
/// block, held (flock) while the rtpengine runs and let go when the process ends, however it
/// ends. rtpengine binds its media sockets so that a second rtpengine on the same ports gets
/// them too and the kernel hands each packet to one of the two: two rtpengines sharing a block
/// made SRTP fail to decrypt and media vanish. The OS cannot be asked for a free block.
pub struct PortBlock {
    pub ports: (u16, u16),
    _lock: std::fs::File,
}

impl PortBlock {
    pub fn take() -> PortBlock {
        let dir = std::env::temp_dir().join("teamline-test-rtpengine-blocks");
        std::fs::create_dir_all(&dir).unwrap();
        let blocks = (RTPENGINE_PORTS.end - RTPENGINE_PORTS.start) / 100;
        loop {
            let block = u16::try_from(random_u64() % u64::from(blocks)).unwrap();
            let file = std::fs::File::create(dir.join(format!("{block}.lock"))).unwrap();
            if file.try_lock().is_ok() {
                let base = RTPENGINE_PORTS.start + block * 100;
                return PortBlock {
                    ports: (base, base + 99),
                    _lock: file,
                };
            }
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
        crate::harness::crash(self.child.id());
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
    pub async fn start(dir: &Path, cert: &CertificateFiles, ca: &Path, sbc_tls: u16) -> Microsoft {
        let dir = dir.join("microsoft");
        std::fs::create_dir_all(&dir).unwrap();
        let block = PortBlock::take();
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
        let cfg = include_str!("../peers/microsoft.cfg")
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
    _rtpengine: Rtpengine,
    _ports: PortBlock,
}

pub struct StackOptions {
    /// Microsoft's stand-in presents a certificate from a CA the gateway does not trust.
    pub untrusted_microsoft: bool,
    /// The gateway presents a certificate from a CA Microsoft's stand-in does not trust.
    pub untrusted_sbc: bool,
    pub keepalive: Keepalive,
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
        let pbx = Pbx::start(dir).await;
        let sbc_tls = free_port();
        let microsoft = Microsoft::start(dir, &ms_cert, &pki.ca_pem, sbc_tls).await;
        let block = PortBlock::take();
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
            _rtpengine: rtpe,
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
fn write_audio(dir: &Path) {
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

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// Who places a call, and where their calls go.
pub struct Caller {
    /// Names the sipp log.
    pub name: String,
    pub target: SocketAddr,
    pub user: String,
    pub domain: String,
    /// Digest credentials for a proxy that challenges.
    pub auth: Option<(String, String)>,
}

impl Caller {
    /// A desk phone of Contoso's PBX: calls go to the PBX as `device`, with its password.
    pub fn desk_phone(stack: &Stack, device: &str) -> Caller {
        Caller {
            name: format!("desk-{device}"),
            target: stack.pbx.registrar.sip_addr(),
            user: device.to_owned(),
            domain: "contoso".to_owned(),
            auth: Some((device.to_owned(), stack.pbx.password(device))),
        }
    }

    /// A Teams client of Contoso's user with `number`: calls go through Microsoft's proxy to
    /// the tenant FQDN.
    pub fn teams_user(stack: &Stack, number: &str) -> Caller {
        Caller {
            name: format!("teams-{number}"),
            target: stack.microsoft.udp,
            user: number.to_owned(),
            domain: TENANT_FQDN.to_owned(),
            auth: None,
        }
    }
}

/// What a caller's INVITE carries beyond the usual: extra headers (History-Info,
/// Session-Expires…) and its own codecs instead of PCMU and PCMA.
#[derive(Debug, Clone, Default)]
pub struct Offer {
    pub headers: Vec<String>,
    /// `(payload type, rtpmap)`, e.g. `(3, "GSM/8000")`.
    pub codecs: Vec<(u8, &'static str)>,
}

impl Offer {
    /// The scenario to run: `scenario` itself, or a copy in `dir` with the INVITEs changed.
    fn apply(&self, dir: &Path, scenario: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/sipp/calls");
        if self.headers.is_empty() && self.codecs.is_empty() {
            return source.join(scenario);
        }
        let mut xml = std::fs::read_to_string(source.join(scenario)).unwrap();
        let usual_media =
            "m=audio [media_port] RTP/AVP 0 8\na=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n";
        if !self.codecs.is_empty() {
            let pts: Vec<String> = self.codecs.iter().map(|(pt, _)| pt.to_string()).collect();
            let mut media = format!("m=audio [media_port] RTP/AVP {}\n", pts.join(" "));
            for (pt, map) in &self.codecs {
                media.push_str(&format!("a=rtpmap:{pt} {map}\n"));
            }
            assert!(xml.contains(usual_media), "{scenario} offers no PCMU/PCMA");
            xml = xml.replace(usual_media, &media);
        }
        // Only INVITEs carry an SDP body.
        let body = "Content-Type: application/sdp\n";
        let headers: String = self.headers.iter().map(|h| format!("{h}\n")).collect();
        xml = xml.replace(body, &format!("{headers}{body}"));
        let copy = dir.join(scenario);
        std::fs::write(&copy, xml).unwrap();
        copy
    }
}

/// How a placed call ends, from the caller's side.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    /// Answered, held this long, then the caller hangs up.
    Answered { hold_ms: u32 },
    /// The caller hangs up this long after it started ringing.
    Cancelled { after_ms: u32 },
    /// The callee's side ends it with a final error.
    Refused,
    /// Answered; after this long the caller puts the call on hold (re-INVITE, a=sendonly),
    /// takes it back (a=sendrecv), talks as long again and hangs up.
    HoldsAndResumes { talk_ms: u32 },
    /// Answered; after this long the caller transfers the call to `to` (REFER), waits for
    /// the NOTIFY saying it went through and hangs up.
    Transfers { talk_ms: u32, to: &'static str },
}

/// sipp running a scenario from `tests/it/sipp/calls/`; killed on drop.
pub struct SippCall {
    child: Child,
    pub port: u16,
    log: PathBuf,
    /// sipp's `-trace_msg` file: every SIP message it sent and received.
    messages: PathBuf,
}

impl SippCall {
    /// A callee (phone or Teams client) that answers one call on `port`.
    pub fn answer(dir: &Path, port: u16, name: &str) -> SippCall {
        Self::run(dir, port, name, "answer.xml", &args(&["-m", "1"]), None)
    }

    /// A callee that rings, then refuses the call with `status` (486 busy, 480 nobody
    /// answered, 603 declined).
    pub fn refuse(dir: &Path, port: u16, name: &str, status: u16, reason: &str) -> SippCall {
        // sipp takes no variable in a response's status line: one scenario file per status.
        let scenario = format!("refuse-{status}.xml");
        let xml = include_str!("../sipp/calls/refuse.xml")
            .replace("@STATUS@", &status.to_string())
            .replace("@REASON@", reason);
        std::fs::write(dir.join(&scenario), xml).unwrap();
        Self::run(
            dir,
            port,
            name,
            dir.join(&scenario),
            &args(&["-m", "1"]),
            None,
        )
    }

    /// A callee that answers one call, is put on hold and taken back (answer-hold.xml).
    pub fn answer_hold(dir: &Path, port: u16, name: &str) -> SippCall {
        Self::run(
            dir,
            port,
            name,
            "answer-hold.xml",
            &args(&["-m", "1"]),
            None,
        )
    }

    /// A callee that answers one call and accepts the caller's transfer (answer-refer.xml).
    pub fn answer_refer(dir: &Path, port: u16, name: &str) -> SippCall {
        Self::run(
            dir,
            port,
            name,
            "answer-refer.xml",
            &args(&["-m", "1"]),
            None,
        )
    }

    /// A callee that plays early media (183 with SDP) for 1.5 s, then is busy (486).
    pub fn early_media(dir: &Path, port: u16, name: &str) -> SippCall {
        Self::run(
            dir,
            port,
            name,
            "early-media.xml",
            &args(&["-m", "1"]),
            None,
        )
    }

    /// A callee that rings until the caller gives up.
    pub fn ring(dir: &Path, port: u16, name: &str) -> SippCall {
        Self::run(dir, port, name, "ring.xml", &args(&["-m", "1"]), None)
    }

    /// `caller` places one call to `service`, which ends as `ending` says.
    pub fn dial(dir: &Path, caller: &Caller, service: &str, ending: Ending) -> SippCall {
        Self::dial_offering(dir, caller, service, ending, &Offer::default())
    }

    /// [`SippCall::dial`] with an INVITE that differs as `offer` says.
    pub fn dial_offering(
        dir: &Path,
        caller: &Caller,
        service: &str,
        ending: Ending,
        offer: &Offer,
    ) -> SippCall {
        let (scenario, duration_ms) = match ending {
            Ending::Answered { hold_ms } => ("call.xml", hold_ms),
            Ending::Cancelled { after_ms } => ("cancel.xml", after_ms),
            Ending::Refused => ("refused.xml", 0),
            Ending::HoldsAndResumes { talk_ms } => ("hold.xml", talk_ms),
            Ending::Transfers { talk_ms, .. } => ("refer.xml", talk_ms),
        };
        let display = format!("Caller {}", caller.user);
        let duration = duration_ms.to_string();
        let mut a = args(&[
            "-key",
            "caller",
            &caller.user,
            "-key",
            "caller_domain",
            &caller.domain,
            "-key",
            "caller_name",
            &display,
            "-s",
            service,
            "-d",
            &duration,
            "-m",
            "1",
        ]);
        if let Some((u, p)) = &caller.auth {
            a.extend(args(&["-au", u, "-ap", p]));
        }
        if let Ending::Transfers { to, .. } = ending {
            a.extend(args(&["-key", "refer_to", to]));
        }
        let scenario = offer.apply(dir, scenario);
        Self::run(
            dir,
            free_port(),
            &caller.name,
            scenario,
            &a,
            Some(caller.target),
        )
    }

    /// Runs `scenario` (a path under `tests/it/sipp/calls/`, or an absolute one).
    fn run(
        dir: &Path,
        port: u16,
        name: &str,
        scenario: impl AsRef<Path>,
        extra: &[String],
        target: Option<SocketAddr>,
    ) -> SippCall {
        let scenario = scenario.as_ref();
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/sipp/calls")
            .join(scenario);
        let scenario = scenario.file_name().and_then(|f| f.to_str()).unwrap();
        let media_port = free_media_ports();
        let log = dir.join(format!("sipp-{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new("sipp");
        if let Some(t) = target {
            cmd.arg(t.to_string());
        }
        cmd.arg("-sf")
            .arg(&file)
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .arg("-mp")
            .arg(media_port.to_string())
            .args(["-nostdin", "-trace_err", "-trace_msg"])
            .args(extra)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let child = cmd.spawn().expect("sipp starts");
        if target.is_none() {
            // A callee must be listening before anyone calls it: on a loaded machine sipp can
            // take a while to bind, and a request sent before that is refused (ICMP) and the
            // call fails with 477 at the proxy.
            wait_until_udp_bound(port);
        }
        let stem = scenario.trim_end_matches(".xml");
        let messages = dir.join(format!("{stem}_{}_messages.log", child.id()));
        SippCall {
            child,
            port,
            log,
            messages,
        }
    }

    /// Waits for sipp to finish; true when its scenario succeeded.
    pub async fn finished(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.success();
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first header `name` (e.g. `From`) of the first `INVITE` sipp received.
    pub fn received_invite_header(&self, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(&self.messages).ok()?;
        let invite = text.split("message received").find_map(|m| {
            let m = m.split_once("bytes :")?.1.trim_start();
            m.starts_with("INVITE ").then_some(m)
        })?;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        invite
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// Every message sipp received, in order.
    fn received(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.messages).unwrap_or_default();
        text.split("message received")
            .skip(1)
            .filter_map(|m| Some(m.split_once("bytes :")?.1.trim_start().to_owned()))
            .collect()
    }

    /// The `method` requests sipp received (whole messages).
    pub fn received_requests(&self, method: &str) -> Vec<String> {
        let start = format!("{method} ");
        self.received()
            .into_iter()
            .filter(|m| m.starts_with(&start))
            .collect()
    }

    /// The first response with `code` sipp received (whole message).
    pub fn received_response(&self, code: u16) -> Option<String> {
        self.received_responses(code).into_iter().next()
    }

    /// The responses with `code` sipp received (whole messages).
    pub fn received_responses(&self, code: u16) -> Vec<String> {
        let start = format!("SIP/2.0 {code} ");
        self.received()
            .into_iter()
            .filter(|m| m.starts_with(&start))
            .collect()
    }

    /// The final answer (>= 300, challenges aside) sipp received to its INVITE.
    pub fn final_failure(&self) -> Option<u16> {
        let text = std::fs::read_to_string(&self.messages).ok()?;
        text.split("message received")
            .filter_map(|m| {
                let m = m.split_once("bytes :")?.1.trim_start();
                let code: u16 = m.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()?;
                let invite = m
                    .lines()
                    .any(|l| l.starts_with("CSeq:") && l.ends_with("INVITE"));
                (invite && code >= 300 && code != 401 && code != 407).then_some(code)
            })
            .last()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SippCall {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for the caller's scenario (up to 30 s), then the callee's (5 s more), to succeed.
pub async fn both_finish(caller: &mut SippCall, callee: &mut SippCall) {
    assert!(
        caller.finished(Duration::from_secs(30)).await,
        "{}",
        caller.log()
    );
    assert!(
        callee.finished(Duration::from_secs(5)).await,
        "{}",
        callee.log()
    );
}

/// Registers a sipp phone's address as `device`'s binding at the stand-in PBX (a desk phone).
pub async fn register_phone(stack: &Stack, device: &str, phone: &SippCall) {
    let pw = stack.pbx.password(device);
    let reg = Command::new("sipp")
        .arg(stack.pbx.registrar.sip_addr().to_string())
        .arg("-sf")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/sipp/calls/register.xml"))
        .args(["-i", "127.0.0.1", "-p"])
        .arg(free_port().to_string())
        .args(["-key", "device", device, "-key", "contact_port"])
        .arg(phone.port.to_string())
        .args(["-au", device, "-ap", &pw, "-m", "1", "-nostdin"])
        .current_dir(&stack.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp registers the phone");
    assert!(
        reg.success(),
        "the desk phone {device} registers at the PBX"
    );
}

/// Media is flowing both ways through the gateway's rtpengine: SRTP (SDES) on Microsoft's
/// side and plain RTP on the PBX's, with packets from each side; and Microsoft's media
/// processor decrypts the gateway's SRTP, as the gateway decrypts Microsoft's, without a single
/// failed packet. Waits (up to 20 s) for the call to be answered and the packets to come: on a
/// loaded machine, call set-up takes what it takes.
pub async fn assert_media_flows(stack: &Stack) {
    let seen = wait_media(stack, 20).await;
    assert_eq!(seen.errors(), [0, 0, 0], "SRTP failed to decrypt: {seen:?}");
}

/// Both rtpengines' view of the one call: the gateway's SRTP and RTP legs, and Microsoft's SRTP
/// leg toward the SBC.
#[derive(Debug)]
pub struct MediaSeen {
    srtp: MediaLeg,
    rtp: MediaLeg,
    at_microsoft: MediaLeg,
}

impl MediaSeen {
    fn min_packets(&self) -> u64 {
        self.srtp
            .packets
            .min(self.rtp.packets)
            .min(self.at_microsoft.packets)
    }

    fn errors(&self) -> [u64; 3] {
        [self.srtp.errors, self.rtp.errors, self.at_microsoft.errors]
    }
}

/// Waits until every leg has received more than `packets`.
async fn wait_media(stack: &Stack, packets: u64) -> MediaSeen {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let why = match media_seen(stack).await {
            Ok(m) if m.min_packets() > packets => return m,
            Ok(m) => format!("more than {packets} packets on every leg: {m:?}"),
            Err(why) => why,
        };
        assert!(Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn media_seen(stack: &Stack) -> Result<MediaSeen, String> {
    let calls = stack.media.list().await.map_err(|e| e.to_string())?;
    let [call] = calls.as_slice() else {
        return Err(format!("one call in the gateway's rtpengine: {calls:?}"));
    };
    let media = stack.media.query(call).await.map_err(|e| e.to_string())?;
    let theirs = stack
        .microsoft
        .media
        .list()
        .await
        .map_err(|e| e.to_string())?;
    let [theirs] = theirs.as_slice() else {
        return Err(format!(
            "one call at Microsoft's media processor: {theirs:?}"
        ));
    };
    let theirs = stack
        .microsoft
        .media
        .query(theirs)
        .await
        .map_err(|e| e.to_string())?;
    Ok(MediaSeen {
        srtp: media
            .leg("RTP/SAVP")
            .ok_or(format!("an SRTP leg toward Microsoft: {media:?}"))?
            .clone(),
        rtp: media
            .leg("RTP/AVP")
            .ok_or(format!("an RTP leg toward the PBX: {media:?}"))?
            .clone(),
        at_microsoft: theirs
            .leg("RTP/SAVP")
            .ok_or(format!("Microsoft's SRTP leg toward the SBC: {theirs:?}"))?
            .clone(),
    })
}

/// Waits (up to 10 s) until a UDP socket is bound to `port` on this host, as the kernel lists
/// them in /proc/net/udp and udp6.
fn wait_until_udp_bound(port: u16) {
    let needle = format!(":{port:04X}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let bound = ["/proc/net/udp", "/proc/net/udp6"].iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| {
                t.lines().skip(1).any(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .is_some_and(|local| local.ends_with(&needle))
                })
            })
        });
        if bound {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
