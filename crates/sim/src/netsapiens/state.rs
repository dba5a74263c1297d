//! The simulated PBX's data and the rules the real NetSapiens API enforces on it.
//!
//! Everything here is plain data behind one mutex (see `NetSapiensSim`); the HTTP layer
//! (`api.rs`) only translates requests into calls on these types and results into NetSapiens
//! JSON. Keeping the rules here lets unit tests check the invariants without HTTP.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::distr::Alphanumeric;
use rand::{Rng, RngExt};

/// Length of the SIP passwords NetSapiens generates when a device is created without one
/// (documented: "a new random password with a default length of 16 characters").
pub const GENERATED_PASSWORD_LEN: usize = 16;

/// The simulator returns at most this many objects per page, whatever `limit` asks for.
/// NetSapiens documents `limit` (default 100) and `start` (default 0) but not a maximum; a cap
/// keeps responses bounded and makes clients prove they page until the end.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// Default `limit` when a list request does not give one (documented default).
pub const DEFAULT_PAGE_LIMIT: usize = 100;

/// Who a credential (API key or OAuth login) may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Every domain (a `nss_` system key / Super User).
    System,
    /// Every domain of one reseller (a `nsr_` key / Reseller scope).
    Reseller(String),
    /// One domain (a `nsd_` key / Office Manager scope).
    Domain(String),
}

impl Access {
    pub fn allows(&self, domain: &Domain) -> bool {
        match self {
            Access::System => true,
            Access::Reseller(r) => &domain.reseller == r,
            Access::Domain(d) => &domain.name == d,
        }
    }

    /// The domain `~` stands for.
    pub fn home_domain(&self) -> Option<&str> {
        match self {
            Access::Domain(d) => Some(d),
            Access::System | Access::Reseller(_) => None,
        }
    }

    pub fn user_scope(&self) -> &'static str {
        match self {
            Access::System => "Super User",
            Access::Reseller(_) => "Reseller",
            Access::Domain(_) => "Office Manager",
        }
    }

    pub fn reseller(&self) -> &str {
        match self {
            Access::Reseller(r) => r,
            Access::System | Access::Domain(_) => "*",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub key_id: String,
    pub description: String,
    pub access: Access,
    pub readonly: bool,
}

#[derive(Debug, Clone)]
pub struct Login {
    pub password: String,
    pub access: Access,
    pub domain: String,
    pub user: String,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub username: String,
    pub client_id: String,
    pub access: Access,
    pub domain: String,
    pub user: String,
    pub expires_at: Instant,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub reseller: String,
    pub description: String,
    /// Whether a new device must name an `emergency-address-id`. Many NetSapiens platforms
    /// enforce this for E911 (dispatchable location per device); it is a per-platform policy,
    /// so the simulator makes it a per-domain switch.
    pub require_emergency_address: bool,
    /// Whether a new address must first pass `POST …/addresses/validate` and be created with
    /// the `emergency-address-id` and `address-formatted-pidflo` it returned, as the v2 spec's
    /// create schema requires (platforms with an E911 carrier integration enforce it).
    pub require_address_validation: bool,
    /// Ids handed out by the validate endpoint and not used for a create yet.
    pub validated_addresses: BTreeSet<String>,
    /// Whether a device listing with nothing in it answers 404 instead of `[]` (seen on some
    /// platform versions).
    pub empty_device_list_404: bool,
    pub users: BTreeMap<String, User>,
    /// Device ids are unique within a domain (they form `sip:<device>@<domain>`).
    pub devices: BTreeMap<String, DeviceRec>,
    pub addresses: BTreeMap<String, AddressRec>,
    /// The domain's phone numbers (DIDs) by number (digits, `12125551000`).
    pub phone_numbers: BTreeMap<String, PhoneNumberRec>,
}

impl Domain {
    pub fn new(name: &str, reseller: &str, description: &str) -> Self {
        Domain {
            name: name.to_owned(),
            reseller: reseller.to_owned(),
            description: description.to_owned(),
            require_emergency_address: false,
            require_address_validation: false,
            validated_addresses: BTreeSet::new(),
            empty_device_list_404: false,
            users: BTreeMap::new(),
            devices: BTreeMap::new(),
            addresses: BTreeMap::new(),
            phone_numbers: BTreeMap::new(),
        }
    }

    /// Addresses a user may pick from: the domain's shared ones and the user's own.
    pub fn addresses_for_user<'a>(
        &'a self,
        user: &'a str,
        only_personal: bool,
    ) -> impl Iterator<Item = &'a AddressRec> + 'a {
        self.addresses.values().filter(move |a| match &a.user {
            Some(owner) => owner == user,
            None => !only_personal,
        })
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub user: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub site: String,
    pub department: String,
    pub emergency_address_id: Option<String>,
    pub devices: BTreeSet<String>,
}

/// A phone number (DID) of a domain: a dial rule that rings one extension.
#[derive(Debug, Clone)]
pub struct PhoneNumberRec {
    pub number: String,
    /// The extension it rings (`dial-rule-translation-destination-user`).
    pub user: String,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct DeviceRec {
    pub device: String,
    pub user: String,
    pub password: String,
    pub emergency_address_id: Option<String>,
    pub expiry_seconds: u32,
    pub registration: Option<Registration>,
}

/// The last successful REGISTER of a device, as the PBX reports it.
#[derive(Debug, Clone)]
pub struct Registration {
    pub user_agent: String,
    pub contact: String,
    pub ip_address: String,
    pub core_server: String,
    /// When set, the device keeps re-registering (a desk phone that is always on): the
    /// reported registration time follows the clock, so it never expires.
    pub keeps_registering: bool,
    pub registered_at: SystemTime,
    /// When the registration runs out, as the registrar that holds it says; `None` for a
    /// simulated one (it runs out after the device's expiry).
    pub expires_at: Option<SystemTime>,
    /// Mirrored from the simulator's SIP registrar (see `registrar`), not set by a test.
    pub from_registrar: bool,
}

impl Registration {
    /// Registration time and expiry time as the PBX would report them now, or `None` when
    /// the registration has lapsed.
    pub fn window(&self, expiry_seconds: u32, now: SystemTime) -> Option<(SystemTime, SystemTime)> {
        if let Some(expires_at) = self.expires_at {
            return (expires_at > now).then_some((self.registered_at, expires_at));
        }
        let expiry = Duration::from_secs(u64::from(expiry_seconds.max(1)));
        let registered_at = if self.keeps_registering {
            let since = now.duration_since(self.registered_at).unwrap_or_default();
            let periods = since.as_secs() / expiry.as_secs();
            self.registered_at + expiry.saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX))
        } else {
            self.registered_at
        };
        let expires_at = registered_at + expiry;
        (expires_at > now).then_some((registered_at, expires_at))
    }
}

#[derive(Debug, Clone, Default)]
pub struct AddressRec {
    pub id: String,
    /// `None` for a domain-wide address, the extension for a personal one.
    pub user: Option<String>,
    pub name: String,
    pub caller_name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub location_description: String,
    pub carrier: String,
}

/// Why a state change was refused; mapped to NetSapiens status codes by the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BadRequest(String),
    NotFound(String),
    Conflict(String),
}

/// A request to create a device, already parsed from the JSON body.
#[derive(Debug, Clone, Default)]
pub struct NewDevice {
    pub device: String,
    pub password: Option<String>,
    pub emergency_address_id: Option<String>,
    pub expiry_seconds: Option<u32>,
}

/// Device ids (and user ids) follow the path pattern NetSapiens documents: `[A-Za-z0-9._-]`.
pub fn valid_object_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A fresh SIP password the way NetSapiens generates one: 16 letters and digits, with at least
/// one of each so it passes the usual "letters and digits" policies.
pub fn generate_password<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let candidate: String = (&mut *rng)
            .sample_iter(Alphanumeric)
            .take(GENERATED_PASSWORD_LEN)
            .map(char::from)
            .collect();
        let has_digit = candidate.bytes().any(|b| b.is_ascii_digit());
        let has_letter = candidate.bytes().any(|b| b.is_ascii_alphabetic());
        if has_digit && has_letter {
            return candidate;
        }
    }
}

impl Domain {
    pub fn domain_missing(name: &str) -> Refusal {
        Refusal::NotFound(format!("Domain {name} does not exist"))
    }

    pub fn user_missing(&self, user: &str) -> Refusal {
        Refusal::NotFound(format!(
            "User {user} does not exist in domain {}",
            self.name
        ))
    }

    pub fn create_device<R: Rng + ?Sized>(
        &mut self,
        user: &str,
        new: NewDevice,
        rng: &mut R,
    ) -> Result<&DeviceRec, Refusal> {
        if !self.users.contains_key(user) {
            return Err(self.user_missing(user));
        }
        if !valid_object_id(&new.device) {
            return Err(Refusal::BadRequest(format!(
                "Invalid device '{}': use 1 to 64 letters, digits, '.', '_' or '-'",
                new.device
            )));
        }
        if let Some(existing) = self.devices.get(&new.device) {
            return Err(Refusal::Conflict(format!(
                "Device {} already exists for user {} in domain {}",
                existing.device, existing.user, self.name
            )));
        }
        match &new.emergency_address_id {
            Some(id) => {
                let usable = self
                    .addresses
                    .get(id)
                    .is_some_and(|a| a.user.as_deref().is_none_or(|owner| owner == user));
                if !usable {
                    return Err(Refusal::BadRequest(format!(
                        "emergency-address-id {id} does not exist for user {user} in domain {}",
                        self.name
                    )));
                }
            }
            None if self.require_emergency_address => {
                return Err(Refusal::BadRequest(format!(
                    "emergency-address-id is required to create a device in domain {}",
                    self.name
                )));
            }
            None => {}
        }
        let password = match new.password {
            Some(p) if p.is_empty() => {
                return Err(Refusal::BadRequest(
                    "device-sip-registration-password must not be empty".to_owned(),
                ));
            }
            Some(p) => p,
            None => generate_password(rng),
        };
        let rec = DeviceRec {
            device: new.device.clone(),
            user: user.to_owned(),
            password,
            emergency_address_id: new.emergency_address_id,
            expiry_seconds: new.expiry_seconds.unwrap_or(60),
            registration: None,
        };
        if let Some(u) = self.users.get_mut(user) {
            u.devices.insert(new.device.clone());
        }
        Ok(self.devices.entry(new.device).or_insert(rec))
    }

    pub fn device_of_user(&self, user: &str, device: &str) -> Result<&DeviceRec, Refusal> {
        if !self.users.contains_key(user) {
            return Err(self.user_missing(user));
        }
        self.devices
            .get(device)
            .filter(|d| d.user == user)
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "Device {device} does not exist for user {user} in domain {}",
                    self.name
                ))
            })
    }

    pub fn delete_device(&mut self, user: &str, device: &str) -> Result<(), Refusal> {
        self.device_of_user(user, device)?;
        self.devices.remove(device);
        if let Some(u) = self.users.get_mut(user) {
            u.devices.remove(device);
        }
        Ok(())
    }

    /// Checks an address the way the validate endpoint does and hands out the id to create it
    /// with.
    pub fn validate_address(&mut self, rec: &AddressRec, seq: u64) -> Result<String, Refusal> {
        missing_address_field(rec)?;
        let id = format!("a-{}", address_id(&self.name, seq));
        self.validated_addresses.insert(id.clone());
        Ok(id)
    }

    /// Creates an address. `validated`: the body carried the `address-formatted-pidflo` of a
    /// validation.
    pub fn create_address(
        &mut self,
        mut rec: AddressRec,
        seq: u64,
        validated: bool,
    ) -> Result<&AddressRec, Refusal> {
        if let Some(user) = &rec.user
            && !self.users.contains_key(user)
        {
            return Err(self.user_missing(user));
        }
        missing_address_field(&rec)?;
        if self.require_address_validation {
            if !validated || !self.validated_addresses.remove(&rec.id) {
                return Err(Refusal::BadRequest(format!(
                    "Missing required field address-formatted-pidflo: validate the address first (POST /domains/{}/addresses/validate) and create it with the emergency-address-id and address-formatted-pidflo it returns",
                    self.name
                )));
            }
        } else if !rec.id.is_empty() {
            self.validated_addresses.remove(&rec.id);
        }
        if rec.id.is_empty() {
            rec.id = address_id(&self.name, seq);
        } else if self.addresses.contains_key(&rec.id) {
            return Err(Refusal::Conflict(format!(
                "emergency-address-id {} already exists in domain {}",
                rec.id, self.name
            )));
        }
        let id = rec.id.clone();
        Ok(self.addresses.entry(id).or_insert(rec))
    }
}

/// The v2 spec's required address fields: the first one that is empty, as a refusal.
fn missing_address_field(rec: &AddressRec) -> Result<(), Refusal> {
    let required = [
        ("address-name", &rec.name),
        ("caller-name", &rec.caller_name),
        ("address-line-1", &rec.line1),
        ("address-city", &rec.city),
        ("address-state-province-abbreviation", &rec.state),
        ("address-postal-code", &rec.postal_code),
        ("address-country-abbreviation", &rec.country),
    ];
    match required.iter().find(|(_, v)| v.trim().is_empty()) {
        Some((field, _)) => Err(Refusal::BadRequest(format!(
            "Missing required field {field}"
        ))),
        None => Ok(()),
    }
}

/// Address ids look like the hashes NetSapiens hands out; derived from the domain and a
/// sequence number so that seeding is deterministic.
pub fn address_id(domain: &str, seq: u64) -> String {
    // FNV-1a: tiny, stable across platforms and Rust versions (unlike `DefaultHasher`).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in domain.bytes().chain(seq.to_le_bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Slices a listing the way `start`/`limit` do.
pub fn page<T>(items: impl Iterator<Item = T>, start: usize, limit: usize) -> Vec<T> {
    items.skip(start).take(limit.min(MAX_PAGE_LIMIT)).collect()
}

/// Seconds since the Unix epoch, for timestamps in JSON.
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Counters a test can read to see what a client really did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SimStats {
    /// Requests that reached `/ns-api/...` (including ones answered by an injected fault).
    pub requests: u64,
    pub password_grants: u64,
    pub refresh_grants: u64,
    /// Requests refused with 401 (bad key, unknown or expired token).
    pub unauthorized: u64,
    pub devices_created: u64,
    pub devices_deleted: u64,
    pub addresses_created: u64,
}

/// Everything the simulator knows, behind one lock.
#[derive(Debug)]
pub struct SimState {
    pub domains: BTreeMap<String, Domain>,
    pub api_keys: HashMap<String, ApiKey>,
    pub oauth_clients: HashMap<String, String>,
    pub logins: HashMap<String, Login>,
    pub access_tokens: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub faults: super::faults::Faults,
    pub stats: SimStats,
    pub address_seq: u64,
}

impl SimState {
    pub fn new() -> Self {
        SimState {
            domains: BTreeMap::new(),
            api_keys: HashMap::new(),
            oauth_clients: HashMap::new(),
            logins: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            faults: super::faults::Faults::default(),
            stats: SimStats::default(),
            address_seq: 0,
        }
    }

    pub fn next_address_seq(&mut self) -> u64 {
        self.address_seq += 1;
        self.address_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn domain_with_user() -> Domain {
        let mut d = Domain::new("contoso", "northwind", "Contoso");
        d.users.insert(
            "1000".into(),
            User {
                user: "1000".into(),
                first_name: "Adele".into(),
                last_name: "Vance".into(),
                email: String::new(),
                site: String::new(),
                department: String::new(),
                emergency_address_id: None,
                devices: BTreeSet::new(),
            },
        );
        let mut other = d.users["1000"].clone();
        other.user = "1001".into();
        d.users.insert("1001".into(), other);
        d
    }

    #[test]
    fn generated_passwords_are_16_letters_and_digits() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let p = generate_password(&mut rng);
            assert_eq!(p.len(), GENERATED_PASSWORD_LEN);
            assert!(p.bytes().all(|b| b.is_ascii_alphanumeric()), "{p}");
            assert!(p.bytes().any(|b| b.is_ascii_digit()), "{p}");
            assert!(p.bytes().any(|b| b.is_ascii_alphabetic()), "{p}");
        }
    }

    #[test]
    fn device_ids_are_unique_per_domain_even_across_users() {
        let mut d = domain_with_user();
        let mut rng = StdRng::seed_from_u64(1);
        let new = |id: &str| NewDevice {
            device: id.into(),
            ..NewDevice::default()
        };
        assert!(d.create_device("1000", new("1000tm"), &mut rng).is_ok());
        let again = d.create_device("1000", new("1000tm"), &mut rng);
        assert!(matches!(again, Err(Refusal::Conflict(_))), "{again:?}");
        let other_user = d.create_device("1001", new("1000tm"), &mut rng);
        assert!(
            matches!(other_user, Err(Refusal::Conflict(_))),
            "{other_user:?}"
        );
        assert_eq!(d.devices.len(), 1);
        assert_eq!(d.users["1000"].devices.len(), 1);
        assert!(d.users["1001"].devices.is_empty());
    }

    #[test]
    fn a_device_without_password_gets_a_generated_one_and_a_given_one_is_kept() {
        let mut d = domain_with_user();
        let mut rng = StdRng::seed_from_u64(2);
        let generated = d
            .create_device(
                "1000",
                NewDevice {
                    device: "1000a".into(),
                    ..NewDevice::default()
                },
                &mut rng,
            )
            .map(|d| d.password.clone());
        assert_eq!(generated.map(|p| p.len()), Ok(GENERATED_PASSWORD_LEN));
        let given = d
            .create_device(
                "1000",
                NewDevice {
                    device: "1000b".into(),
                    password: Some("Secret12".into()),
                    ..NewDevice::default()
                },
                &mut rng,
            )
            .map(|d| d.password.clone());
        assert_eq!(given, Ok("Secret12".to_owned()));
    }

    #[test]
    fn emergency_address_is_enforced_when_the_domain_requires_it() {
        let mut d = domain_with_user();
        d.require_emergency_address = true;
        let mut rng = StdRng::seed_from_u64(3);
        let missing = d.create_device(
            "1000",
            NewDevice {
                device: "1000tm".into(),
                ..NewDevice::default()
            },
            &mut rng,
        );
        assert!(
            matches!(missing, Err(Refusal::BadRequest(ref m)) if m.contains("emergency-address-id"))
        );
        let unknown = d.create_device(
            "1000",
            NewDevice {
                device: "1000tm".into(),
                emergency_address_id: Some("nope".into()),
                ..NewDevice::default()
            },
            &mut rng,
        );
        assert!(matches!(unknown, Err(Refusal::BadRequest(_))));
        let addr = AddressRec {
            name: "HQ".into(),
            caller_name: "Contoso".into(),
            line1: "1 Main St".into(),
            city: "Redmond".into(),
            state: "WA".into(),
            postal_code: "98052".into(),
            country: "US".into(),
            ..AddressRec::default()
        };
        let id = d
            .create_address(addr, 1, false)
            .map(|a| a.id.clone())
            .unwrap();
        let ok = d.create_device(
            "1000",
            NewDevice {
                device: "1000tm".into(),
                emergency_address_id: Some(id),
                ..NewDevice::default()
            },
            &mut rng,
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn personal_addresses_are_not_usable_by_other_users() {
        let mut d = domain_with_user();
        let addr = AddressRec {
            user: Some("1001".into()),
            name: "Home".into(),
            caller_name: "Alex".into(),
            line1: "2 Side St".into(),
            city: "Seattle".into(),
            state: "WA".into(),
            postal_code: "98101".into(),
            country: "US".into(),
            ..AddressRec::default()
        };
        let id = d
            .create_address(addr, 1, false)
            .map(|a| a.id.clone())
            .unwrap();
        let mut rng = StdRng::seed_from_u64(4);
        let res = d.create_device(
            "1000",
            NewDevice {
                device: "1000tm".into(),
                emergency_address_id: Some(id.clone()),
                ..NewDevice::default()
            },
            &mut rng,
        );
        assert!(matches!(res, Err(Refusal::BadRequest(_))));
        assert_eq!(d.addresses_for_user("1000", false).count(), 0);
        assert_eq!(
            d.addresses_for_user("1001", true)
                .map(|a| a.id.clone())
                .collect::<Vec<_>>(),
            vec![id]
        );
    }

    #[test]
    fn addresses_need_their_required_fields() {
        let mut d = domain_with_user();
        let res = d.create_address(
            AddressRec {
                name: "HQ".into(),
                ..AddressRec::default()
            },
            1,
            false,
        );
        assert!(matches!(res, Err(Refusal::BadRequest(ref m)) if m.contains("caller-name")));
    }

    #[test]
    fn a_domain_that_requires_validation_takes_only_validated_addresses() {
        let mut d = domain_with_user();
        d.require_address_validation = true;
        let rec = AddressRec {
            user: Some("1000".into()),
            name: "HQ".into(),
            caller_name: "Contoso".into(),
            line1: "1 Main St".into(),
            city: "Redmond".into(),
            state: "WA".into(),
            postal_code: "98052".into(),
            country: "US".into(),
            ..AddressRec::default()
        };
        let refused = d.create_address(rec.clone(), 1, false);
        assert!(matches!(refused, Err(Refusal::BadRequest(ref m)) if m.contains("validate")));
        let id = d.validate_address(&rec, 2).unwrap();
        let created = d
            .create_address(
                AddressRec {
                    id: id.clone(),
                    ..rec.clone()
                },
                3,
                true,
            )
            .map(|a| a.id.clone());
        assert_eq!(created, Ok(id.clone()));
        // A validation is used once.
        let again = d.create_address(AddressRec { id, ..rec }, 4, true);
        assert!(again.is_err());
    }

    #[test]
    fn paging_slices_and_caps_the_limit() {
        let all: Vec<u32> = (0..2500).collect();
        assert_eq!(page(all.iter(), 0, 100).len(), 100);
        assert_eq!(page(all.iter(), 2400, 1000).len(), 100);
        assert_eq!(page(all.iter(), 0, 5000).len(), MAX_PAGE_LIMIT);
        assert!(page(all.iter(), 3000, 10).is_empty());
        assert_eq!(
            page(all.iter(), 10, 2)
                .into_iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![10, 11]
        );
    }

    #[test]
    fn deleting_a_device_frees_its_id() {
        let mut d = domain_with_user();
        let mut rng = StdRng::seed_from_u64(5);
        let new = || NewDevice {
            device: "1000tm".into(),
            ..NewDevice::default()
        };
        assert!(d.create_device("1000", new(), &mut rng).is_ok());
        assert!(matches!(
            d.delete_device("1001", "1000tm"),
            Err(Refusal::NotFound(_))
        ));
        assert_eq!(d.delete_device("1000", "1000tm"), Ok(()));
        assert!(d.users["1000"].devices.is_empty());
        assert!(d.create_device("1001", new(), &mut rng).is_ok());
    }

    #[test]
    fn always_on_registrations_never_lapse_and_one_shot_ones_do() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut reg = Registration {
            user_agent: "Yealink".into(),
            contact: String::new(),
            ip_address: String::new(),
            core_server: String::new(),
            keeps_registering: true,
            registered_at: t0,
            expires_at: None,
            from_registrar: false,
        };
        let later = t0 + Duration::from_secs(3600 + 17);
        let (at, until) = reg.window(60, later).unwrap();
        assert!(at <= later && until > later);
        reg.keeps_registering = false;
        assert!(reg.window(60, later).is_none());
        assert!(reg.window(60, t0 + Duration::from_secs(30)).is_some());
    }

    #[test]
    fn address_ids_are_deterministic_and_distinct() {
        assert_eq!(address_id("contoso", 1), address_id("contoso", 1));
        assert_ne!(address_id("contoso", 1), address_id("contoso", 2));
        assert_ne!(address_id("contoso", 1), address_id("fabrikam", 1));
        assert_eq!(address_id("contoso", 1).len(), 16);
    }
}
