//! What two rows of one file must not share: an extension or a device of a PBX location, a
//! phone number, a Teams user. The store would refuse the second row anyway; finding it in the
//! file says which rows to fix before anything is written.

use crate::error::{FieldError, FieldErrors};
use crate::pbx_user::{PbxUserForm, fields};
use std::collections::HashMap;

/// For each row (by index into `forms`) that repeats an earlier row, what it repeats. The
/// values are compared as the form reads them (`+1 206…` and `1206…` are one number).
pub fn duplicates(forms: &[(usize, &PbxUserForm)]) -> HashMap<usize, FieldErrors> {
    let mut seen: HashMap<(&'static str, String), usize> = HashMap::new();
    let mut out: HashMap<usize, FieldErrors> = HashMap::new();
    for (index, (row, form)) in forms.iter().enumerate() {
        let keys = form.lookup_keys();
        let location = form.pbx_location.trim();
        let candidates = [
            (
                fields::SIP_USER,
                keys.sip_user.map(|x| format!("{location}/{x}")),
                "extension",
            ),
            (
                fields::PHONE_NUMBER,
                keys.phone_number.map(|n| n.to_string()),
                "number",
            ),
            (fields::TEAMS_USER, keys.teams_user, "Teams user"),
            (
                fields::USER_DEVICES,
                Some(form.device.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .map(|d| format!("{location}/{d}")),
                "device",
            ),
        ];
        for (field, key, what) in candidates {
            let Some(key) = key else { continue };
            match seen.get(&(field, key.clone())) {
                Some(first) => out.entry(index).or_default().push(FieldError::new(
                    field,
                    format!(
                        "the same {what} is on row {first}: each {what} can be set up once; remove one of the two rows or correct it"
                    ),
                )),
                None => {
                    seen.insert((field, key), *row);
                }
            }
        }
    }
    out
}
