//! Typed identifiers: a `MerchantId` can never be passed where an `IntegrationId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), so rows created together sit together in indexes.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(value: Uuid) -> Self {
                Self(value)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A merchant: the tenant that owns every other row.
    MerchantId
);
uuid_id!(
    /// One connection from a store or from Meta, with its own signing secret.
    IntegrationId
);
uuid_id!(
    /// A stored webhook delivery in `external_events`.
    EventId
);
uuid_id!(
    /// An API key row (never the key itself).
    ApiKeyId
);
uuid_id!(
    /// A merchant's customer.
    CustomerId
);
uuid_id!(
    /// An order, as we track it (not the platform's order id).
    OrderId
);
uuid_id!(
    /// A scheduled task (a planned follow-up, a reply to send).
    TaskId
);
uuid_id!(
    /// A WhatsApp message we sent or received.
    MessageId
);
uuid_id!(
    /// A CSV import of a merchant's orders or products.
    ImportId
);
