//! Status enums (§4.2-4.4).

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} '{}', expected one of: {}",
                        stringify!($name),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// The status of a service as a whole. Poppy stores it explicitly
    /// (the original derived it from provider statuses in map order, §9.2 #7).
    ServiceStatus {
        CreateInProgress => "create_in_progress",
        Deployed => "deployed",
        UpdateInProgress => "update_in_progress",
        DeleteInProgress => "delete_in_progress",
        Failed => "failed",
    }
}

impl ServiceStatus {
    /// A job is running (or about to) for the service.
    pub fn is_in_progress(&self) -> bool {
        matches!(
            self,
            ServiceStatus::CreateInProgress
                | ServiceStatus::UpdateInProgress
                | ServiceStatus::DeleteInProgress
        )
    }
}

string_enum! {
    /// Set only by the operator (admin action enable/disable).
    OperatorStatus {
        Enabled => "enabled",
        Disabled => "disabled",
    }
}

string_enum! {
    /// The status of one provider's configuration of a service.
    ProviderStatus {
        DeployInProgress => "deploy_in_progress",
        Deployed => "deployed",
        UpdateInProgress => "update_in_progress",
        DeleteInProgress => "delete_in_progress",
        Failed => "failed",
    }
}

string_enum! {
    /// Certificate status of an https domain at a provider.
    CertStatus {
        CreateInProgress => "create_in_progress",
        Deployed => "deployed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}
