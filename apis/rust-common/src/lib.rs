//! The shared core of the Rust APIs: everything the event contract (`contract/CONTRACT.md`) says
//! that does not depend on the protocol. The REST and gRPC binaries are thin adapters over it.

pub mod auth;
pub mod config;
pub mod event;
pub mod json_scan;
pub mod repository;
pub mod rfc3339;
pub mod secrets;
pub mod shutdown;
pub mod startup;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod validation;

pub use auth::{AuthError, Authenticator};
pub use config::{Config, ConfigError};
pub use event::{EntityRef, ValidEvent};
pub use repository::{to_completion, Repository, StoreError, StoreOutcome};
pub use startup::{Services, StartupError};
pub use validation::{attribute_from_text, parse_body, validate_event, OverLimit, ValidationError};
