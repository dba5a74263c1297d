use teamline_pbx::Pbx;
use teamline_sim::netsapiens::{DEMO_API_KEY, NetSapiensSim, contoso_extensions};

use crate::support::{api_key, client, client_with, contoso, settings};

#[tokio::test]
async fn contoso_lists_extensions_1000_to_1019_with_names_and_devices() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let extensions = pbx.list_extensions().await.unwrap();

    let got: Vec<(String, String)> = extensions
        .iter()
        .map(|e| (e.id.clone(), e.display_name()))
        .collect();
    let want: Vec<(String, String)> = contoso_extensions()
        .into_iter()
        .map(|(ext, first, last)| (ext.to_owned(), format!("{first} {last}")))
        .collect();
    assert_eq!(got, want);
    assert_eq!(extensions[0].display_name(), "Adele Vance");
    assert_eq!(extensions[15].display_name(), "Debra Berger");

    for e in &extensions {
        let mut want_devices = vec![e.id.clone()];
        if e.id == "1000" || e.id == "1001" {
            want_devices.push(format!("{}tm", e.id));
        }
        assert_eq!(e.devices, want_devices, "devices of {}", e.id);
    }
    assert_eq!(
        extensions[11].email.as_deref(),
        Some("MeganB@contoso.example")
    );
}

#[tokio::test]
async fn a_domain_of_20000_extensions_is_read_completely_by_paging() {
    let sim = NetSapiensSim::new()
        .seed_generated("bigco", 20_000)
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let pbx = client_with(settings(&sim.base_url, "bigco", api_key(DEMO_API_KEY)));
    let before = sim.sim().stats().requests;

    let extensions = pbx.list_extensions().await.unwrap();

    assert_eq!(extensions.len(), 20_000);
    assert_eq!(extensions.first().map(|e| e.id.as_str()), Some("1000"));
    assert_eq!(extensions.last().map(|e| e.id.as_str()), Some("20999"));
    assert!(extensions.iter().all(|e| e.devices == vec![e.id.clone()]));
    let mut ids: Vec<&str> = extensions.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 20_000, "no extension twice");
    // Users and devices each take several pages of at most 1000: the client paged through both.
    let requests = sim.sim().stats().requests - before;
    assert!(
        requests >= 40,
        "only {requests} requests: the client did not page"
    );
}

#[tokio::test]
async fn an_extensions_phone_numbers_are_the_dids_the_pbx_routes_to_it() {
    let sim = contoso().await;
    let pbx = client(&sim);
    assert_eq!(
        pbx.list_phone_numbers("1002").await.unwrap(),
        ["14255550102", "14255550122"]
    );
    assert_eq!(
        pbx.list_phone_numbers("1000").await.unwrap(),
        ["14255550100"]
    );
    assert!(pbx.list_phone_numbers("1011").await.unwrap().is_empty());
    // A number routed to the extension later is listed too.
    assert!(sim.sim().add_phone_number("contoso", "14255550111", "1011"));
    assert_eq!(
        pbx.list_phone_numbers("1011").await.unwrap(),
        ["14255550111"]
    );
}
