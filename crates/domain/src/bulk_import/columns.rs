//! The columns of a Bulk Upload file: the SET UP PBX USER form's fields, headed with the
//! form's labels so an error names the column to fix.

use crate::pbx_user::fields;

/// A column of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    TeamsUser,
    PbxLocation,
    VoiceRoute,
    SipUser,
    PhoneNumber,
    UserTag,
    Voicemail,
    CallerNamePolicy,
    CallerName,
    ForwardedCallerId,
    DialPlan,
    Device,
    EmergencyAddress,
}

/// Every column, in the template's order.
pub const COLUMNS: [Column; 13] = [
    Column::TeamsUser,
    Column::PbxLocation,
    Column::VoiceRoute,
    Column::SipUser,
    Column::PhoneNumber,
    Column::UserTag,
    Column::Voicemail,
    Column::CallerNamePolicy,
    Column::CallerName,
    Column::ForwardedCallerId,
    Column::DialPlan,
    Column::Device,
    Column::EmergencyAddress,
];

/// Labels of the form's checkboxes, which the form shows but reports no error for.
pub const USE_VOICEMAIL: &str = "Use Voicemail in Teams";
pub const ASSIGN_DIAL_PLAN: &str = "Assign Default Dial Plan Policy";
pub const EMERGENCY_ADDRESS: &str = "Emergency Address";

impl Column {
    /// The header in the template (the form's label).
    pub fn header(self) -> &'static str {
        match self {
            Self::TeamsUser => fields::TEAMS_USER,
            Self::PbxLocation => fields::PBX_LOCATION,
            Self::VoiceRoute => fields::VOICE_ROUTE,
            Self::SipUser => fields::SIP_USER,
            Self::PhoneNumber => fields::PHONE_NUMBER,
            Self::UserTag => fields::USER_TAG,
            Self::Voicemail => USE_VOICEMAIL,
            Self::CallerNamePolicy => fields::CALLER_NAME_POLICY,
            Self::CallerName => fields::CALLER_NAME,
            Self::ForwardedCallerId => fields::FORWARDED_CALLER_ID,
            Self::DialPlan => ASSIGN_DIAL_PLAN,
            Self::Device => fields::USER_DEVICES,
            Self::EmergencyAddress => EMERGENCY_ADDRESS,
        }
    }

    /// Other headers people write for it (compared without case, spaces or punctuation).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::TeamsUser => &["upn", "teamsuserupn", "user"],
            Self::PbxLocation => &["pbxlocation", "location"],
            Self::VoiceRoute => &["voiceroute", "route"],
            Self::SipUser => &["extension"],
            Self::PhoneNumber => &["number", "did"],
            Self::UserTag => &["tag"],
            Self::Voicemail => &["voicemail", "teamsvoicemail"],
            Self::CallerNamePolicy => &[],
            Self::CallerName => &["callername"],
            Self::ForwardedCallerId => &["forwardedcallerid"],
            Self::DialPlan => &["dialplan", "assigndialplan"],
            Self::Device => &["device", "userdevice"],
            Self::EmergencyAddress => &[],
        }
    }

    /// A file must have these columns; the others take the form's defaults when absent.
    pub fn required(self) -> bool {
        matches!(self, Self::TeamsUser | Self::SipUser | Self::PhoneNumber)
    }

    /// Columns a spreadsheet may have turned into numbers (scientific notation).
    pub fn is_number(self) -> bool {
        matches!(self, Self::SipUser | Self::PhoneNumber)
    }

    /// The column a header names, if any.
    pub fn from_header(header: &str) -> Option<Self> {
        let key = squash(header);
        COLUMNS
            .iter()
            .copied()
            .find(|c| squash(c.header()) == key || c.aliases().contains(&key.as_str()))
    }

    /// The example value in the template.
    fn example(self) -> &'static str {
        match self {
            Self::TeamsUser => "AdeleV@contoso.com",
            Self::PbxLocation => "PBX",
            Self::VoiceRoute => "US East 2",
            Self::SipUser => "1000",
            Self::PhoneNumber => "+12065550100",
            Self::UserTag => "Sales",
            Self::Voicemail => "No",
            Self::CallerNamePolicy => "Transparent",
            Self::CallerName => "",
            Self::ForwardedCallerId => "User's Caller ID",
            Self::DialPlan => "Yes",
            Self::Device => "1000tm",
            Self::EmergencyAddress => "",
        }
    }
}

fn squash(s: &str) -> String {
    s.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The template: the header row and one example row (CRLF, as spreadsheets expect).
pub fn template() -> String {
    let row = |f: fn(Column) -> &'static str| {
        COLUMNS
            .iter()
            .map(|c| quote(f(*c)))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("{}\r\n{}\r\n", row(Column::header), row(Column::example))
}

/// A field quoted when it holds a separator, a quote or a line break.
pub fn quote(value: &str) -> String {
    if value.contains([',', ';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}
