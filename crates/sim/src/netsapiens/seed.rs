//! Deterministic seed data: the Contoso PBX of the demo (`docs/demo-data.md`), generated
//! domains of any size, and
//! the demo credentials.

use std::collections::BTreeSet;
use std::time::SystemTime;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::state::{
    Access, AddressRec, ApiKey, DeviceRec, Domain, Login, PhoneNumberRec, Registration, SimState,
    User, generate_password,
};

/// The SIP domain of the demo enterprise Contoso.
pub const CONTOSO_DOMAIN: &str = "contoso";
/// The reseller that owns the demo domains (Northwind Voice).
pub const DEMO_RESELLER: &str = "northwind";
/// A reseller-level API key (`nsr_` prefix, like NetSapiens v44+ keys) that may read and write
/// every domain of [`DEMO_RESELLER`], including Contoso and generated domains.
pub const DEMO_API_KEY: &str = "nsr_teamlinedemo_5c2b7e0f94d1a3b8c6e2f0a7";
/// OAuth client registered on the simulator (System > Settings > OAuth Clients on a real PBX).
pub const DEMO_OAUTH_CLIENT_ID: &str = "teamline-demo";
pub const DEMO_OAUTH_CLIENT_SECRET: &str = "teamline-demo-client-secret-8f3a1c";
/// The masquerade login (a reseller-scope user) used with the OAuth password grant.
pub const DEMO_OAUTH_USERNAME: &str = "teamline@northwind";
pub const DEMO_OAUTH_PASSWORD: &str = "Masquerade2026";
/// The domain-wide emergency address seeded for Contoso ("Contoso HQ"). Contoso requires an
/// emergency address on every new device, so device creation must name this id (or another
/// address of the user).
pub const CONTOSO_HQ_ADDRESS_ID: &str = "5f1c0e7a9b3d2c41";
/// The host the seeded registrations report as `device-sip-registration-core-server`.
pub const DEMO_CORE_SERVER: &str = "core1.sbc.pbx.example";

/// Contoso's extensions as `(extension, first name, last name)`, in extension order.
///
/// One extension per demo user in list order, except that Debra Berger, who was configured
/// on extension 1015 before, keeps 1015: the users listed after Patti Fernandez follow on
/// the next extensions (Pradeep 1016, Irvin 1017, Christie 1018, Enrico 1019). Every other
/// user is where list order puts them (Adele 1000 … Patti 1014). `docs/demo-data.md` explains
/// why.
pub fn contoso_extensions() -> Vec<(&'static str, &'static str, &'static str)> {
    CONTOSO_EXTENSIONS.to_vec()
}

const CONTOSO_EXTENSIONS: [(&str, &str, &str); 20] = [
    ("1000", "Adele", "Vance"),
    ("1001", "Alex", "Wilber"),
    ("1002", "Diego", "Siciliani"),
    ("1003", "Grady", "Archie"),
    ("1004", "Henrietta", "Mueller"),
    ("1005", "Isaiah", "Langer"),
    ("1006", "Johanna", "Lorenz"),
    ("1007", "Joni", "Sherman"),
    ("1008", "Lee", "Gu"),
    ("1009", "Lidia", "Holloway"),
    ("1010", "Lynne", "Robbins"),
    ("1011", "Megan", "Bowen"),
    ("1012", "Miriam", "Graham"),
    ("1013", "Nestor", "Wilke"),
    ("1014", "Patti", "Fernandez"),
    ("1015", "Debra", "Berger"),
    ("1016", "Pradeep", "Gupta"),
    ("1017", "Irvin", "Sayers"),
    ("1018", "Christie", "Cline"),
    ("1019", "Enrico", "Cattaneo"),
];

/// Extensions that already have a `tm` device handle (`1000tm`, `1001tm`).
pub const CONTOSO_TM_EXTENSIONS: [&str; 2] = ["1000", "1001"];

/// Contoso's phone numbers (DIDs) on the PBX as `(number, extension)`: Adele has one, Diego
/// two, everybody else none (the seed's `1<extension>` convention stands in for them).
pub const CONTOSO_PHONE_NUMBERS: [(&str, &str); 3] = [
    ("14255550100", "1000"),
    ("14255550102", "1002"),
    ("14255550122", "1002"),
];

/// Desk phones that are not registered: Debra Berger (disabled in Teamline) and Enrico
/// Cattaneo (account disabled). Every other desk phone keeps re-registering.
const CONTOSO_UNREGISTERED_DESKS: [&str; 2] = ["1015", "1019"];

/// The credentials every simulator accepts from the start.
pub fn install_demo_credentials(state: &mut SimState) {
    state.api_keys.insert(
        DEMO_API_KEY.to_owned(),
        ApiKey {
            key_id: "nsr-teamline1".to_owned(),
            description: "Teamline demo key (Northwind Voice)".to_owned(),
            access: Access::Reseller(DEMO_RESELLER.to_owned()),
            readonly: false,
        },
    );
    state.oauth_clients.insert(
        DEMO_OAUTH_CLIENT_ID.to_owned(),
        DEMO_OAUTH_CLIENT_SECRET.to_owned(),
    );
    state.logins.insert(
        DEMO_OAUTH_USERNAME.to_owned(),
        Login {
            password: DEMO_OAUTH_PASSWORD.to_owned(),
            access: Access::Reseller(DEMO_RESELLER.to_owned()),
            domain: DEMO_RESELLER.to_owned(),
            user: "teamline".to_owned(),
        },
    );
}

/// Deterministic per-domain generator, so a seeded PBX always has the same passwords.
fn domain_rng(domain: &str) -> StdRng {
    let mut seed = [0u8; 32];
    for (i, b) in domain.bytes().enumerate() {
        seed[i % 32] ^= b.wrapping_add(u8::try_from(i % 251).unwrap_or(0));
    }
    StdRng::from_seed(seed)
}

fn desk_registration(index: usize, now: SystemTime) -> Registration {
    let host = 10 + index % 240;
    Registration {
        user_agent: "Yealink SIP-T48S 66.86.0.15".to_owned(),
        contact: format!("sip:{}@192.0.2.{host}:5060", 1000 + index),
        ip_address: format!("192.0.2.{host}:5060"),
        core_server: DEMO_CORE_SERVER.to_owned(),
        keeps_registering: true,
        registered_at: now,
        expires_at: None,
        from_registrar: false,
    }
}

fn hq_address(domain: &str, id: &str, caller: &str) -> AddressRec {
    AddressRec {
        id: id.to_owned(),
        user: None,
        name: format!("{caller} HQ"),
        caller_name: caller.to_owned(),
        line1: "1 Microsoft Way".to_owned(),
        line2: String::new(),
        city: "Redmond".to_owned(),
        state: "WA".to_owned(),
        postal_code: "98052".to_owned(),
        country: "US".to_owned(),
        location_description: format!("Main office of {domain}"),
        carrier: "bandwidth".to_owned(),
    }
}

struct SeedUser<'a> {
    ext: &'a str,
    first: &'a str,
    last: &'a str,
    email: String,
    registration: Option<Registration>,
}

fn add_user(domain: &mut Domain, rng: &mut StdRng, address: &str, seed: SeedUser<'_>) {
    let SeedUser {
        ext,
        first,
        last,
        email,
        registration,
    } = seed;
    let mut devices = BTreeSet::new();
    devices.insert(ext.to_owned());
    domain.devices.insert(
        ext.to_owned(),
        DeviceRec {
            device: ext.to_owned(),
            user: ext.to_owned(),
            password: generate_password(rng),
            emergency_address_id: Some(address.to_owned()),
            expiry_seconds: 60,
            registration,
        },
    );
    domain.users.insert(
        ext.to_owned(),
        User {
            user: ext.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email,
            site: "Redmond".to_owned(),
            department: String::new(),
            emergency_address_id: Some(address.to_owned()),
            devices,
        },
    );
}

/// The Contoso PBX of the demo data (replaces any existing `contoso` domain).
pub fn contoso(now: SystemTime) -> Domain {
    let mut d = Domain::new(CONTOSO_DOMAIN, DEMO_RESELLER, "Contoso");
    d.require_emergency_address = true;
    d.addresses.insert(
        CONTOSO_HQ_ADDRESS_ID.to_owned(),
        hq_address(CONTOSO_DOMAIN, CONTOSO_HQ_ADDRESS_ID, "Contoso"),
    );
    let mut rng = domain_rng(CONTOSO_DOMAIN);
    for (index, (ext, first, last)) in CONTOSO_EXTENSIONS.iter().enumerate() {
        let initial = last.chars().next().map(String::from).unwrap_or_default();
        let email = format!("{first}{initial}@contoso.example");
        let registration =
            (!CONTOSO_UNREGISTERED_DESKS.contains(ext)).then(|| desk_registration(index, now));
        add_user(
            &mut d,
            &mut rng,
            CONTOSO_HQ_ADDRESS_ID,
            SeedUser {
                ext,
                first,
                last,
                email,
                registration,
            },
        );
    }
    for ext in CONTOSO_TM_EXTENSIONS {
        let device = format!("{ext}tm");
        let password = generate_password(&mut rng);
        if let Some(user) = d.users.get_mut(ext) {
            user.devices.insert(device.clone());
        }
        d.devices.insert(
            device.clone(),
            DeviceRec {
                device,
                user: ext.to_owned(),
                password,
                emergency_address_id: Some(CONTOSO_HQ_ADDRESS_ID.to_owned()),
                expiry_seconds: 60,
                registration: None,
            },
        );
    }
    for (number, ext) in CONTOSO_PHONE_NUMBERS {
        d.phone_numbers.insert(
            number.to_owned(),
            PhoneNumberRec {
                number: number.to_owned(),
                user: ext.to_owned(),
                enabled: true,
            },
        );
    }
    d
}

/// The SIP domain of the demo enterprise Fabrikam: a second customer of the same reseller, so
/// the reseller's API key reaches it too.
pub const FABRIKAM_DOMAIN: &str = "fabrikam";
/// The domain-wide emergency address seeded for Fabrikam.
pub const FABRIKAM_HQ_ADDRESS_ID: &str = "9a4e2d6b8c1f3e57";

/// Fabrikam's extensions as `(extension, first name, last name)`: people who are not in
/// Contoso's directory, so a page that shows one of them shows another customer's data.
pub fn fabrikam_extensions() -> Vec<(&'static str, &'static str, &'static str)> {
    FABRIKAM_EXTENSIONS.to_vec()
}

const FABRIKAM_EXTENSIONS: [(&str, &str, &str); 5] = [
    ("2000", "Ruth", "Fabrikam-Okoro"),
    ("2001", "Tomas", "Fabrikam-Lindqvist"),
    ("2002", "Yara", "Fabrikam-Haddad"),
    ("2003", "Ken", "Fabrikam-Sato"),
    ("2004", "Lea", "Fabrikam-Moreau"),
];

/// The Fabrikam PBX (replaces any existing `fabrikam` domain): extensions 2000–2004, each with
/// a registered desk phone and a `tm` device.
pub fn fabrikam(now: SystemTime) -> Domain {
    let mut d = Domain::new(FABRIKAM_DOMAIN, DEMO_RESELLER, "Fabrikam");
    d.addresses.insert(
        FABRIKAM_HQ_ADDRESS_ID.to_owned(),
        hq_address(FABRIKAM_DOMAIN, FABRIKAM_HQ_ADDRESS_ID, "Fabrikam"),
    );
    let mut rng = domain_rng(FABRIKAM_DOMAIN);
    for (index, (ext, first, last)) in FABRIKAM_EXTENSIONS.iter().enumerate() {
        add_user(
            &mut d,
            &mut rng,
            FABRIKAM_HQ_ADDRESS_ID,
            SeedUser {
                ext,
                first,
                last,
                email: format!("{first}@fabrikam.example"),
                registration: Some(desk_registration(index, now)),
            },
        );
        let device = format!("{ext}tm");
        let password = generate_password(&mut rng);
        if let Some(user) = d.users.get_mut(*ext) {
            user.devices.insert(device.clone());
        }
        d.devices.insert(
            device.clone(),
            DeviceRec {
                device,
                user: (*ext).to_owned(),
                password,
                emergency_address_id: Some(FABRIKAM_HQ_ADDRESS_ID.to_owned()),
                expiry_seconds: 60,
                registration: None,
            },
        );
    }
    d
}

const FIRST_NAMES: [&str; 16] = [
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kara",
    "Luis", "Mira", "Noah", "Olga", "Priya",
];
const LAST_NAMES: [&str; 16] = [
    "Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen",
    "Kim", "Lopez", "Moreau", "Novak", "Okafor", "Patel",
];

/// First extension number of a generated domain.
pub const GENERATED_FIRST_EXTENSION: u32 = 1000;

/// A generated domain with `extensions` users numbered from 1000, each with a desk device
/// (`<ext>`) and a domain-wide emergency address; every third desk phone is registered.
pub fn generated(name: &str, extensions: u32, now: SystemTime) -> Domain {
    let mut d = Domain::new(name, DEMO_RESELLER, &format!("Generated domain {name}"));
    d.require_emergency_address = true;
    let address_id = super::state::address_id(name, 0);
    d.addresses
        .insert(address_id.clone(), hq_address(name, &address_id, name));
    let mut rng = domain_rng(name);
    for i in 0..extensions {
        let index = usize::try_from(i).unwrap_or(usize::MAX);
        let ext = (GENERATED_FIRST_EXTENSION + i).to_string();
        let first = FIRST_NAMES[index % FIRST_NAMES.len()];
        let last = LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()];
        let email = format!(
            "{}.{}.{ext}@{name}.example",
            first.to_lowercase(),
            last.to_lowercase()
        );
        let registration = (index % 3 == 0).then(|| desk_registration(index, now));
        add_user(
            &mut d,
            &mut rng,
            &address_id,
            SeedUser {
                ext: &ext,
                first,
                last,
                email,
                registration,
            },
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contoso_matches_spec_section_8() {
        let d = contoso(SystemTime::now());
        assert_eq!(d.users.len(), 20);
        let exts: Vec<&str> = d.users.keys().map(String::as_str).collect();
        let expected: Vec<String> = (1000..1020).map(|n: u32| n.to_string()).collect();
        assert_eq!(
            exts,
            expected.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(d.users["1000"].first_name, "Adele");
        assert_eq!(d.users["1001"].first_name, "Alex");
        assert_eq!(d.users["1011"].first_name, "Megan");
        assert_eq!(
            (
                d.users["1015"].first_name.as_str(),
                d.users["1015"].last_name.as_str()
            ),
            ("Debra", "Berger")
        );
        for u in d.users.values() {
            assert!(d.devices.contains_key(&u.user), "desk device of {}", u.user);
            let has_tm = d.devices.contains_key(&format!("{}tm", u.user));
            assert_eq!(
                has_tm,
                u.user == "1000" || u.user == "1001",
                "tm device of {}",
                u.user
            );
        }
        assert_eq!(d.devices.len(), 22);
        assert!(d.require_emergency_address);
        assert!(d.addresses.contains_key(CONTOSO_HQ_ADDRESS_ID));
    }

    #[test]
    fn fabrikam_is_a_second_domain_of_the_same_reseller() {
        let d = fabrikam(SystemTime::now());
        assert_eq!(d.users.len(), 5);
        assert_eq!(d.devices.len(), 10);
        assert!(d.users.contains_key("2000") && d.devices.contains_key("2004tm"));
        let contoso = contoso(SystemTime::now());
        assert!(
            d.users.keys().all(|ext| !contoso.users.contains_key(ext)),
            "no extension in common with Contoso"
        );
    }

    #[test]
    fn seeding_is_deterministic() {
        let a = contoso(SystemTime::now());
        let b = contoso(SystemTime::now());
        let pw = |d: &Domain| {
            d.devices
                .values()
                .map(|x| x.password.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(pw(&a), pw(&b));
        let g1 = generated("big", 50, SystemTime::now());
        let g2 = generated("big", 50, SystemTime::now());
        assert_eq!(pw(&g1), pw(&g2));
        assert_ne!(pw(&a)[0], pw(&g1)[0]);
    }

    #[test]
    fn generated_domains_scale() {
        let d = generated("big", 20_000, SystemTime::now());
        assert_eq!(d.users.len(), 20_000);
        assert_eq!(d.devices.len(), 20_000);
        assert!(d.users.contains_key("1000") && d.users.contains_key("20999"));
        let mut passwords: Vec<&str> = d.devices.values().map(|x| x.password.as_str()).collect();
        passwords.sort_unstable();
        passwords.dedup();
        assert_eq!(passwords.len(), 20_000, "generated passwords collide");
    }
}
