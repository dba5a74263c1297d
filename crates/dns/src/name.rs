//! Checking names and TXT values before anything is sent to a server.

use hickory_proto::rr::Name;

use crate::DnsError;

/// The longest TXT value accepted. Values longer than one DNS character-string (255 bytes)
/// are split into several strings of one record; this bound keeps an update far below what
/// one DNS message can carry.
pub(crate) const MAX_TXT_VALUE_BYTES: usize = 4000;

/// One character-string of a TXT record holds at most 255 bytes.
const TXT_STRING_BYTES: usize = 255;

/// Parses an absolute domain name (a trailing dot is optional).
pub(crate) fn absolute_name(text: &str) -> Result<Name, DnsError> {
    let trimmed = text.trim();
    let invalid = |detail: String| DnsError::InvalidName {
        name: trimmed.to_owned(),
        detail,
    };
    if trimmed.is_empty() || trimmed == "." {
        return Err(invalid("the name is empty".to_owned()));
    }
    let fqdn = if trimmed.ends_with('.') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}.")
    };
    let name = Name::from_ascii(&fqdn).map_err(|e| invalid(e.to_string()))?;
    Ok(name.to_lowercase())
}

/// Parses `text` and checks it lies in `zone` (the zone's apex included).
pub(crate) fn name_in_zone(text: &str, zone: &Name) -> Result<Name, DnsError> {
    let name = absolute_name(text)?;
    if !zone.zone_of(&name) {
        return Err(DnsError::NameOutsideZone {
            name: display(&name),
            zone: display(zone),
        });
    }
    Ok(name)
}

/// A name as admins write it: without the trailing dot.
pub(crate) fn display(name: &Name) -> String {
    let text = name.to_ascii();
    text.strip_suffix('.').unwrap_or(&text).to_owned()
}

/// Splits a TXT value into the character-strings of one record.
pub(crate) fn txt_strings(name: &Name, value: &str) -> Result<Vec<Vec<u8>>, DnsError> {
    if value.len() > MAX_TXT_VALUE_BYTES {
        return Err(DnsError::InvalidValue {
            name: display(name),
            detail: format!(
                "a TXT value may hold at most {MAX_TXT_VALUE_BYTES} bytes, this one has {}",
                value.len()
            ),
        });
    }
    if value.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    Ok(value
        .as_bytes()
        .chunks(TXT_STRING_BYTES)
        .map(<[u8]>::to_vec)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_absolute_and_lower_case() {
        let zone = absolute_name("SBC.Example.NET").unwrap();
        assert_eq!(zone.to_ascii(), "sbc.example.net.");
        let name = name_in_zone("Cust1234.sbc.example.net.", &zone).unwrap();
        assert_eq!(display(&name), "cust1234.sbc.example.net");
        assert!(name_in_zone("sbc.example.net", &zone).is_ok(), "the apex");
    }

    #[test]
    fn a_name_outside_the_zone_is_refused_with_both_names() {
        let zone = absolute_name("sbc.example.net").unwrap();
        let err = name_in_zone("cust1.example.org", &zone).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`cust1.example.org` is not inside the zone `sbc.example.net` that Teamline updates: \
             only names ending in `.sbc.example.net` can be published"
        );
        assert!(name_in_zone("xsbc.example.net", &zone).is_err());
    }

    #[test]
    fn empty_and_malformed_names_are_refused() {
        assert!(matches!(
            absolute_name(" "),
            Err(DnsError::InvalidName { .. })
        ));
        assert!(matches!(
            absolute_name("a..b"),
            Err(DnsError::InvalidName { .. })
        ));
    }

    #[test]
    fn long_values_become_several_strings_of_one_record() {
        let name = absolute_name("x.example.net").unwrap();
        let value = "v".repeat(600);
        let strings = txt_strings(&name, &value).unwrap();
        assert_eq!(
            strings.iter().map(Vec::len).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert!(txt_strings(&name, &"v".repeat(MAX_TXT_VALUE_BYTES + 1)).is_err());
    }
}
