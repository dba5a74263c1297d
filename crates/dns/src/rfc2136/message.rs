//! The DNS messages Teamline sends and what their answers mean, without any I/O.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// An UPDATE that makes `values` (each the character-strings of one record) the whole TXT
/// RRset of `name`. Deleting the RRset and adding the records in one message is atomic
/// (RFC 2136 §3.4.2) and repeating it leaves the same records, so publishing is idempotent.
pub(crate) fn replace_txt(zone: &Name, name: &Name, values: &[Vec<Vec<u8>>], ttl: u32) -> Message {
    let mut message = delete_txt(zone, name);
    for strings in values {
        let txt = TXT::from_bytes(strings.iter().map(Vec::as_slice).collect());
        message.add_update(Record::from_rdata(name.clone(), ttl, RData::TXT(txt)));
    }
    message
}

/// An UPDATE that deletes the TXT RRset of `name` (RFC 2136 §2.5.2: class ANY, no data).
pub(crate) fn delete_txt(zone: &Name, name: &Name) -> Message {
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Update);
    message.metadata.recursion_desired = false;
    message.add_zone(Query::query(zone.clone(), RecordType::SOA));
    let mut delete = Record::update0(name.clone(), 0, RecordType::TXT);
    delete.dns_class = DNSClass::ANY;
    message.add_update(delete);
    message
}

/// A plain, non-recursive query: the answer must come from the server's own zone data.
pub(crate) fn query(name: &Name, record_type: RecordType) -> Message {
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name.clone(), record_type));
    message
}

/// What the server said to an update, before its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpdateAnswer {
    /// NOERROR: applied (if the answer's TSIG verifies).
    Applied,
    /// The server did not accept the key or its signature (RFC 8945 §5.2).
    KeyRejected(TsigError),
    /// The signature's time is outside the server's window.
    BadTime,
    /// NOTAUTH or REFUSED without a TSIG error: the zone is not served there, or the server's
    /// policy does not let this key update it.
    Refused(ResponseCode),
    /// Any other failure (SERVFAIL, NOTZONE, …).
    Failed(ResponseCode),
}

pub(crate) fn update_answer(answer: &Message) -> UpdateAnswer {
    match answer.signature().and_then(|tsig| tsig.data.error) {
        Some(TsigError::BadTime) => return UpdateAnswer::BadTime,
        Some(error) => return UpdateAnswer::KeyRejected(error),
        None => {}
    }
    match answer.metadata.response_code {
        ResponseCode::NoError => UpdateAnswer::Applied,
        code @ (ResponseCode::NotAuth | ResponseCode::Refused) => UpdateAnswer::Refused(code),
        code => UpdateAnswer::Failed(code),
    }
}

/// What a TSIG error means, for the operator.
pub(crate) fn tsig_reason(error: &TsigError) -> String {
    match error {
        TsigError::BadKey => "the server does not know this key, or does not accept it for \
                              this zone (BADKEY)"
            .to_owned(),
        TsigError::BadSig => "the key's secret does not match the server's (BADSIG)".to_owned(),
        TsigError::BadTrunc => "the server rejected the signature's length (BADTRUNC)".to_owned(),
        TsigError::BadTime => "the signature's time is off (BADTIME)".to_owned(),
        TsigError::Unknown(code) => format!("the server answered TSIG error {code}"),
    }
}

/// An answer code as DNS tools print it, with its meaning: `REFUSED (Query Refused)`.
pub(crate) fn rcode_text(code: ResponseCode) -> String {
    let mnemonic = match u16::from(code) {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return format!("rcode {} ({code})", u16::from(code)),
    };
    format!("{mnemonic} ({code})")
}

/// The TXT values of `name` in an answer: each record's strings joined into one value.
pub(crate) fn txt_values(answer: &Message, name: &Name) -> Vec<String> {
    let mut values: Vec<String> = answer
        .answers
        .iter()
        .filter(|record| record.name.to_lowercase() == *name)
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
            _ => None,
        })
        .collect();
    values.sort();
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn a_replacement_deletes_the_rrset_then_adds_each_value_in_one_update() {
        let zone = name("sbc.example.net.");
        let owner = name("cust1.sbc.example.net.");
        let message = replace_txt(
            &zone,
            &owner,
            &[vec![b"MS=ms1".to_vec()], vec![b"a".to_vec(), b"b".to_vec()]],
            300,
        );
        let wire = Message::from_vec(&message.to_vec().unwrap()).unwrap();
        assert_eq!(wire.metadata.op_code, OpCode::Update);
        assert_eq!(wire.queries.len(), 1, "one zone");
        assert_eq!(wire.queries[0].name(), &zone);
        assert_eq!(wire.queries[0].query_type(), RecordType::SOA);
        // Updates travel in the authority section.
        let updates = &wire.authorities;
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[0].dns_class, DNSClass::ANY);
        assert_eq!(updates[0].ttl, 0);
        assert!(
            updates[1..]
                .iter()
                .all(|r| r.dns_class == DNSClass::IN && r.ttl == 300)
        );
        let mut answer = wire.clone();
        answer.answers = updates[1..].to_vec();
        assert_eq!(txt_values(&answer, &owner), ["MS=ms1", "ab"]);
    }

    #[test]
    fn answers_are_classified_by_tsig_error_first() {
        let mut answer = Message::new(1, MessageType::Response, OpCode::Update);
        assert_eq!(update_answer(&answer), UpdateAnswer::Applied);
        answer.metadata.response_code = ResponseCode::Refused;
        assert_eq!(
            update_answer(&answer),
            UpdateAnswer::Refused(ResponseCode::Refused)
        );
        answer.metadata.response_code = ResponseCode::ServFail;
        assert_eq!(
            update_answer(&answer),
            UpdateAnswer::Failed(ResponseCode::ServFail)
        );
    }

    #[test]
    fn answer_codes_read_like_dig_prints_them() {
        assert_eq!(
            rcode_text(ResponseCode::NotAuth),
            "NOTAUTH (Not authorized)"
        );
        assert_eq!(
            rcode_text(ResponseCode::ServFail),
            "SERVFAIL (Server Failure)"
        );
    }
}
