//! Runs every conformance story against SQLite and against PostgreSQL.

mod schema;

use teamline_store_tests::{Harness, run, suite};

/// `module: [story, …]` → `sqlite::story` and `postgres::story`, each running
/// `suite::module::story` (`scripts/test.sh` counts the passes by these prefixes).
macro_rules! stories {
    ($($module:ident: [$($story:ident),* $(,)?]),* $(,)?) => {
        mod sqlite {
            use super::*;
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    run(Harness::sqlite().await, suite::$module::$story).await;
                }
            )*)*
        }
        mod postgres {
            use super::*;
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    run(Harness::postgres().await, suite::$module::$story).await;
                }
            )*)*
        }
    };
}

stories!(
    enterprises: [enterprises_register_and_consent, enterprises_edit],
    secrets: [
        pbx_location_secrets_are_encrypted_and_write_only,
        stored_secrets_stay_bound_to_their_endpoint,
        a_sip_domain_belongs_to_one_enterprise,
        key_rotation_reencrypts_secrets,
    ],
    pbx_users: [
        pbx_user_uniqueness_names_the_holder,
        pbx_user_edit_calling_and_push,
        pbx_user_move_releases_and_replaces,
        users_page_search_tabs_and_paging,
        users_page_search_follows_changes,
        users_page_keyset_paging_survives_inserts,
        push_journal_is_kept_per_user,
    ],
    directory: [
        directory_sync_bookkeeping,
        directory_delta_bookkeeping,
        directory_staging_merges_overlapping_groups,
    ],
    jobs: [
        jobs_deferred_and_pulled_forward,
        jobs_claim_complete_and_deduplicate,
        jobs_queued_and_read_for_the_whole_fleet,
        jobs_retry_with_backoff_and_retry_after,
        jobs_one_at_a_time_per_lane,
        jobs_expired_lease_is_reclaimed,
        two_runners_run_every_job_exactly_once,
    ],
    sessions: [sessions_expire, sealed_values_open_only_for_their_purpose],
    api_tokens: [
        api_tokens_are_scoped_revoked_and_expire,
        idempotent_responses_are_kept_for_a_day,
    ],
    audit: [audit_log_filters_and_pages_past_one_page],
    migrations: [a_database_migrated_before_a_comment_edit_still_opens],
    registrations: [
        registration_targets_follow_users_devices_and_locations,
        registration_states_are_kept_per_user_and_counted,
        one_instance_at_a_time_holds_a_lease,
    ],
    calls: [
        calls_are_kept_per_enterprise_filtered_and_expire,
        gateway_health_is_replaced_and_keeps_when_a_state_began,
        sip_messages_are_read_through_their_call_and_expire,
    ],
    imports: [imports_keep_rows_scope_and_apply_once],
    platform: [health_and_accounts],
    reseller_reports: [
        reseller_audit_log_holds_its_enterprises_and_admins_only,
        billing_counts_users_configured_in_each_utc_month,
    ],
);
