//! The whole call path on loopback, every piece real: sipp phones → the stand-in PBX (Kamailio
//! registrar/proxy from `teamline_sim`) → the gateway (Kamailio + rtpengine) → a stand-in for
//! Microsoft's SIP proxies and media processor (Kamailio over mutual TLS + its own rtpengine)
//! → sipp playing the Teams clients. Certificates are made here with rcgen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use teamline_gateway::media::MediaLeg;

use crate::harness::{free_media_ports, free_port};

pub use teamline_gateway::testing::calls::{Stack, StackOptions, TENANT_FQDN};

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
/// Registers desk phone `device` at the PBX with a contact on a free port and returns the
/// port: the sipp that stood there for the registration is gone, so the test starts whatever
/// phone it needs on it.
pub async fn register_desk_phone(stack: &Stack, device: &str) -> u16 {
    let port = free_port();
    let registration = SippCall::answer(&stack.dir, port, "desk-registration");
    register_phone(stack, device, &registration).await;
    port
}

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
