//! Typed ids of stored objects, so an enterprise id can never be passed where a user id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(ResellerId);
id_type!(AccountId);
id_type!(EnterpriseId);
id_type!(SbcRegionId);
id_type!(VoiceRouteId);
id_type!(PbxLocationId);
id_type!(SyncGroupId);
id_type!(TeamsUserId);
id_type!(PbxUserId);
id_type!(DeviceHandleId);
id_type!(JobId);
id_type!(AuditEventId);
id_type!(ApiTokenId);
id_type!(
    /// A Bulk Upload file and its check.
    ImportId
);
