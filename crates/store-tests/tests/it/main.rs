//! Runs every conformance story against SQLite and against PostgreSQL.

use teamline_store_tests::{Harness, run, suite};

macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    run(Harness::sqlite().await, suite::$story).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    run(Harness::postgres().await, suite::$story).await;
                }
            )*
        }
    };
}

stories!(
    enterprises_register_and_consent,
    pbx_location_secrets_are_encrypted_and_write_only,
    key_rotation_reencrypts_secrets,
    pbx_user_uniqueness_names_the_holder,
    pbx_user_edit_calling_and_push,
    users_page_search_tabs_and_paging,
    directory_sync_bookkeeping,
    directory_delta_bookkeeping,
    push_journal_is_kept_per_user,
    jobs_deferred_and_pulled_forward,
    jobs_claim_complete_and_deduplicate,
    jobs_retry_with_backoff_and_retry_after,
    jobs_one_at_a_time_per_lane,
    jobs_expired_lease_is_reclaimed,
    two_runners_run_every_job_exactly_once,
    sessions_expire,
    health_and_accounts,
);
