use super::*;
use crate::ids::{PbxLocationId, VoiceRouteId};

fn names() -> Names {
    Names {
        locations: vec![("PBX".into(), PbxLocationId(1))],
        voice_routes: vec![
            ("US East 2".into(), VoiceRouteId(7)),
            ("US West".into(), VoiceRouteId(8)),
        ],
        teams_users: [("adelev@contoso.com".to_owned(), "oid-adele".to_owned())]
            .into_iter()
            .collect(),
    }
}

#[test]
fn the_template_reads_back_as_one_row_in_the_forms_defaults() {
    let rows = parse(&template()).unwrap();
    assert_eq!(rows.len(), 1);
    let (form, errors) = rows[0].to_form(&names());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(form.pbx_location, "1");
    assert_eq!(form.voice_route, "7");
    assert_eq!(form.teams_user, "oid-adele");
    assert_eq!(form.sip_user, "1000");
    assert_eq!(form.device, "1000tm");
    assert!(form.create_device);
    assert!(form.assign_dial_plan);
    assert!(!form.use_teams_voicemail);
    assert_eq!(form.forwarded_caller_id, "user_caller_id");
}

#[test]
fn excel_habits_are_undone() {
    let text = "\u{feff}UPN;Extension;Phone Number;Voice Route;Tag\r\n\
                AdeleV@Contoso.com;1000;1,2065550100E+10;us east 2;\"a;b\"\r\n\
                ;;;;\r\n;;;;\r\n";
    let rows = parse(text).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].row, 2);
    let (form, errors) = rows[0].to_form(&names());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(form.phone_number, "12065550100");
    assert_eq!(form.teams_user, "oid-adele");
    assert_eq!(form.voice_route, "7");
    assert_eq!(form.tag, "a;b");
}

#[test]
fn names_that_match_nothing_name_their_column_and_the_choices() {
    let text = "Teams User,PBX Location,Voice Route,SIP User,Phone Number,Voicemail\n\
                nobody@contoso.com,Other PBX,Mars,1000,1000,perhaps\n";
    let rows = parse(text).unwrap();
    let (_, errors) = rows[0].to_form(&names());
    let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec![
            "PBX Locations",
            "Available Voice Routes",
            "Teams User",
            "Use Voicemail in Teams"
        ]
    );
    assert!(
        errors
            .for_field("Available Voice Routes")
            .unwrap()
            .contains("'US West'")
    );
    assert!(
        errors
            .for_field("Teams User")
            .unwrap()
            .contains("nobody@contoso.com")
    );
}

#[test]
fn a_header_row_that_cannot_be_used_is_refused_whole() {
    assert_eq!(parse("\n\n"), Err(FileError::Empty));
    assert_eq!(
        parse("Teams User,SIP User,Colour\n"),
        Err(FileError::UnknownColumns(vec!["Colour".into()]))
    );
    assert_eq!(
        parse("Teams User,SIP User\n"),
        Err(FileError::MissingColumns(vec!["Phone Number"]))
    );
}

#[test]
fn rows_that_repeat_an_earlier_row_say_which() {
    let a = PbxUserForm {
        pbx_location: "1".into(),
        teams_user: "oid-a".into(),
        sip_user: "1000".into(),
        phone_number: "+12065550100".into(),
        device: "1000tm".into(),
        ..PbxUserForm::default()
    };
    let b = PbxUserForm {
        teams_user: "oid-b".into(),
        phone_number: "12065550100".into(),
        ..a.clone()
    };
    let c = PbxUserForm {
        teams_user: "oid-c".into(),
        sip_user: "1001".into(),
        phone_number: "+12065550101".into(),
        device: "1001tm".into(),
        ..a.clone()
    };
    let found = duplicates(&[(2, &a), (3, &b), (4, &c)]);
    assert_eq!(found.len(), 1);
    let errors = &found[&1];
    assert_eq!(errors.len(), 3);
    assert!(errors.for_field("Phone Number").unwrap().contains("row 2"));
    assert!(errors.for_field("SIP User").is_some());
    assert!(errors.for_field("User Devices").is_some());
}
