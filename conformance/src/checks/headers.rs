//! placeholder

use crate::kit::Kit;

pub async fn run(_kit: &Kit) {}
