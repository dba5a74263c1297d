//! Publishing, republishing and removing TXT records; kdig confirms what the server serves.

use teamline_dns::ZonePublisher;

use crate::support::{publisher, server};

const NAME: &str = "cust1234.sbc.example.net";

#[tokio::test]
async fn a_published_txt_record_is_served_by_the_authoritative_server() {
    let server = server().await;
    let dns = publisher(&server);

    dns.upsert_txt(NAME, &["MS=ms12345678".to_owned()], 300)
        .await
        .unwrap();

    assert_eq!(server.knot.txt(NAME).unwrap(), ["MS=ms12345678"]);
    assert_eq!(dns.lookup_txt(NAME).await.unwrap(), ["MS=ms12345678"]);
}

#[tokio::test]
async fn publishing_twice_leaves_one_record_and_a_new_value_replaces_the_old() {
    let server = server().await;
    let dns = publisher(&server);
    let value = vec!["MS=ms12345678".to_owned()];

    dns.upsert_txt(NAME, &value, 300).await.unwrap();
    dns.upsert_txt(NAME, &value, 300).await.unwrap();
    assert_eq!(server.knot.txt(NAME).unwrap(), ["MS=ms12345678"]);

    dns.upsert_txt(NAME, &["MS=ms87654321".to_owned()], 300)
        .await
        .unwrap();
    assert_eq!(server.knot.txt(NAME).unwrap(), ["MS=ms87654321"]);
}

#[tokio::test]
async fn several_values_and_long_values_are_served_as_given() {
    let server = server().await;
    let dns = publisher(&server);
    let long = format!("v=long;{}", "x".repeat(600));
    let values = vec![
        "MS=ms1".to_owned(),
        long.clone(),
        "MS=ms1".to_owned(), // given twice, published once
    ];

    dns.upsert_txt(NAME, &values, 60).await.unwrap();

    let mut want = vec!["MS=ms1".to_owned(), long];
    want.sort();
    assert_eq!(server.knot.txt(NAME).unwrap(), want);
    assert_eq!(dns.lookup_txt(NAME).await.unwrap(), want);
}

#[tokio::test]
async fn deleting_removes_the_txt_records_and_nothing_else() {
    let server = server().await;
    server.knot.update("add cust1234 60 A 192.0.2.10").unwrap();
    let dns = publisher(&server);
    dns.upsert_txt(NAME, &["MS=ms12345678".to_owned()], 300)
        .await
        .unwrap();

    dns.delete_txt(NAME).await.unwrap();

    assert!(server.knot.txt(NAME).unwrap().is_empty());
    assert!(dns.lookup_txt(NAME).await.unwrap().is_empty());
    assert_eq!(server.knot.dig("A", NAME).unwrap(), ["192.0.2.10"]);
    // Deleting what is not there succeeds: a retried job step does not fail.
    dns.delete_txt(NAME).await.unwrap();
}

#[tokio::test]
async fn a_name_with_no_records_looks_up_as_empty() {
    let server = server().await;
    let dns = publisher(&server);
    assert!(
        dns.lookup_txt("nobody.sbc.example.net")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(dns.serves_zone().await.unwrap());
}
