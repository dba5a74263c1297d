//! Bulk Upload: many SET UP PBX USER forms in one CSV file.
//!
//! A row carries the form's fields by name (the Teams user by UPN, the PBX location and voice
//! route by the names the portal shows); [`ImportRow::to_form`] turns it into the form, which
//! is then validated by the form's own rules ([`crate::pbx_user::PbxUserForm::validate`]), so a
//! row is accepted exactly when the form would be. What only a file can get wrong — an unknown
//! column, a name that matches nothing, the same extension, number, Teams user or device on two
//! rows — is checked here.
//!
//! - `csv.rs`: reading the file as spreadsheets write it (BOM, `;`, CRLF, quotes, blank rows,
//!   numbers in scientific notation).
//! - `columns.rs`: the columns, their headers and the template.
//! - `duplicates.rs`: what two rows of one file must not share.
//! - `result.rs`: the result file (each row with what became of it).

mod columns;
mod csv;
mod duplicates;
mod result;

pub use columns::{COLUMNS, Column, template};
pub use duplicates::duplicates;
pub use result::{RowResult, result_csv};

use crate::error::{FieldError, FieldErrors};
use crate::ids::{PbxLocationId, VoiceRouteId};
use crate::pbx_user::{ForwardedCallerId, PbxUserForm, fields};
use crate::sip::Extension;
use std::collections::HashMap;
use std::fmt;

/// A data row of the file, every value as written (numbers already freed of spreadsheet
/// notation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRow {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: usize,
    values: HashMap<Column, String>,
}

impl ImportRow {
    /// The value of a column ("" when the file has no such column or the cell is empty).
    pub fn get(&self, column: Column) -> &str {
        self.values.get(&column).map_or("", |v| v.trim())
    }

    /// A row built from column values (for tests and generated files).
    pub fn from_values(row: usize, values: impl IntoIterator<Item = (Column, String)>) -> Self {
        Self {
            row,
            values: values.into_iter().collect(),
        }
    }

    /// The SET UP PBX USER form this row stands for, and the problems with names that match
    /// nothing (each against its column). A field whose name did not match is left empty in
    /// the form; its problem is reported once, from here.
    pub fn to_form(&self, names: &Names) -> (PbxUserForm, FieldErrors) {
        let mut errors = FieldErrors::new();
        let mut form = PbxUserForm::new_with_defaults();
        form.pbx_location = match names.location(self.get(Column::PbxLocation)) {
            Ok(id) => id.map(|id| id.to_string()).unwrap_or_default(),
            Err(e) => {
                errors.push(e);
                String::new()
            }
        };
        form.voice_route = match names.voice_route(self.get(Column::VoiceRoute)) {
            Ok(id) => id.to_string(),
            Err(e) => {
                errors.push(e);
                String::new()
            }
        };
        let upn = self.get(Column::TeamsUser);
        form.teams_user = names
            .teams_users
            .get(&upn.to_lowercase())
            .cloned()
            .unwrap_or_default();
        if form.teams_user.is_empty() {
            errors.push(FieldError::new(
                fields::TEAMS_USER,
                if upn.is_empty() {
                    "is required: write the user's sign-in name (UPN), e.g. AdeleV@contoso.com".to_owned()
                } else {
                    format!(
                        "{upn} is not a synced Teams user of this enterprise: check the spelling of the UPN, or run Sync Teams Users"
                    )
                },
            ));
        }
        form.sip_user = self.get(Column::SipUser).to_owned();
        form.phone_number = self.get(Column::PhoneNumber).to_owned();
        form.tag = self.get(Column::UserTag).to_owned();
        form.use_teams_voicemail = errors.check(yes_no(
            Column::Voicemail,
            self.get(Column::Voicemail),
            false,
        )) == Some(true);
        form.assign_dial_plan =
            errors.check(yes_no(Column::DialPlan, self.get(Column::DialPlan), true)) != Some(false);
        form.caller_name_policy = self.get(Column::CallerNamePolicy).to_owned();
        form.caller_name = self.get(Column::CallerName).to_owned();
        form.forwarded_caller_id = forwarded_caller_id(self.get(Column::ForwardedCallerId));
        let device = self.get(Column::Device);
        let suggested = Extension::parse(&form.sip_user)
            .ok()
            .map(|ext| crate::device::DeviceAuthId::suggested(&ext).to_string());
        form.device = if device.is_empty() {
            suggested.clone().unwrap_or_default()
        } else {
            device.to_owned()
        };
        // The recommended handle is created when the PBX does not have it yet, as Add New
        // Device offers in the form.
        form.create_device = suggested.as_deref() == Some(form.device.as_str());
        form.emergency_address = self.get(Column::EmergencyAddress).to_owned();
        (form, errors)
    }
}

/// What the names in a file refer to: the enterprise's PBX locations and provisioned voice
/// routes by name, its synced Teams users by UPN.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub locations: Vec<(String, PbxLocationId)>,
    pub voice_routes: Vec<(String, VoiceRouteId)>,
    /// Lower-cased UPN → Entra object id.
    pub teams_users: HashMap<String, String>,
}

impl Names {
    /// Empty = the only location there is (left to the form's rule).
    fn location(&self, name: &str) -> Result<Option<PbxLocationId>, FieldError> {
        if name.is_empty() {
            return Ok(None);
        }
        find(&self.locations, name).map(Some).ok_or_else(|| {
            FieldError::new(
                fields::PBX_LOCATION,
                format!(
                    "no PBX location is named '{name}': write one of {}",
                    list(&self.locations)
                ),
            )
        })
    }

    fn voice_route(&self, name: &str) -> Result<VoiceRouteId, FieldError> {
        if let ([(_, only)], true) = (self.voice_routes.as_slice(), name.is_empty()) {
            return Ok(*only);
        }
        find(&self.voice_routes, name).ok_or_else(|| {
            FieldError::new(
                fields::VOICE_ROUTE,
                if self.voice_routes.is_empty() {
                    "no voice route is provisioned for this enterprise yet: run Sync Voice Routes from the Dashboard".to_owned()
                } else if name.is_empty() {
                    format!("is required: write one of {}", list(&self.voice_routes))
                } else {
                    format!(
                        "no provisioned voice route is named '{name}': write one of {}",
                        list(&self.voice_routes)
                    )
                },
            )
        })
    }
}

fn find<T: Copy>(named: &[(String, T)], name: &str) -> Option<T> {
    named
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, id)| *id)
}

fn list<T>(named: &[(String, T)]) -> String {
    named
        .iter()
        .map(|(n, _)| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn yes_no(column: Column, raw: &str, default: bool) -> Result<bool, FieldError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" => Ok(default),
        "yes" | "y" | "true" | "1" | "x" | "on" => Ok(true),
        "no" | "n" | "false" | "0" | "off" => Ok(false),
        other => Err(FieldError::new(
            column.header(),
            format!(
                "'{other}' is not yes or no: write Yes or No (or leave it empty for the default)"
            ),
        )),
    }
}

/// The portal's labels ("User's Caller ID", "Original Caller") as the form's values.
fn forwarded_caller_id(raw: &str) -> String {
    let squashed: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match squashed.as_str() {
        "userscallerid" | "usercallerid" => ForwardedCallerId::UserCallerId.as_str().to_owned(),
        "originalcaller" => ForwardedCallerId::OriginalCaller.as_str().to_owned(),
        _ => raw.to_owned(),
    }
}

/// Why a file could not be read as a Bulk Upload at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// No header row.
    Empty,
    UnknownColumns(Vec<String>),
    MissingColumns(Vec<&'static str>),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(
                f,
                "the file is empty: download the template, fill in one row per user and upload it"
            ),
            Self::UnknownColumns(c) => write!(
                f,
                "row 1 has columns Bulk Upload does not know ({}): use the template's headers",
                c.join(", ")
            ),
            Self::MissingColumns(c) => write!(
                f,
                "row 1 lacks the required columns {}: use the template's headers",
                c.join(", ")
            ),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads the file's rows. Fails only when the header row cannot be used; every problem with a
/// data row is left to validation, row by row.
pub fn parse(text: &str) -> Result<Vec<ImportRow>, FileError> {
    let mut records = csv::records(text).into_iter();
    let header = records.next().ok_or(FileError::Empty)?;
    let mut columns = Vec::with_capacity(header.fields.len());
    let mut unknown = Vec::new();
    for name in &header.fields {
        match Column::from_header(name) {
            Some(c) => columns.push(Some(c)),
            None if name.trim().is_empty() => columns.push(None),
            None => unknown.push(name.trim().to_owned()),
        }
    }
    if !unknown.is_empty() {
        return Err(FileError::UnknownColumns(unknown));
    }
    let missing: Vec<&'static str> = COLUMNS
        .iter()
        .filter(|c| c.required() && !columns.contains(&Some(**c)))
        .map(|c| c.header())
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing));
    }
    Ok(records
        .map(|r| ImportRow {
            row: r.row,
            values: columns
                .iter()
                .zip(r.fields)
                .filter_map(|(c, v)| {
                    let c = (*c)?;
                    let v = if c.is_number() {
                        csv::spreadsheet_number(&v)
                    } else {
                        v
                    };
                    Some((c, v))
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests;
