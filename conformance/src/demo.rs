//! The demo principals `guestpass serve --demo` provisions, as its README
//! documents them; `--demo` fills them in. Anyone can read these secrets:
//! they only ever authenticate against a server running in demo mode.

pub const CHAIN_ID: &str = "demo-chain";
pub const CHAIN_SECRET: &str = "demo-chain-secret-not-for-production";
pub const LOCATION_ID: &str = "demo-gym";
pub const LOCATION_SECRET: &str = "demo-location-secret-not-for-production";
pub const SECOND_LOCATION_ID: &str = "demo-gym-2";
pub const SECOND_LOCATION_SECRET: &str = "demo-location-2-secret-not-for-production";
pub const OTHER_CHAIN_ID: &str = "demo-chain-2";
pub const OTHER_CHAIN_SECRET: &str = "demo-chain-2-secret-not-for-production";
pub const OTHER_CHAIN_LOCATION_ID: &str = "demo-chain-2-gym";
pub const OTHER_CHAIN_LOCATION_SECRET: &str = "demo-location-3-secret-not-for-production";
pub const CLIENT_ID: &str = "demo-client";
pub const CLIENT_SECRET: &str = "demo-client-secret-not-for-production";
