//! What handlers receive: the authenticated `Caller` (extracted first, before
//! anything else about the request is looked at) and the request body, read
//! only when the handler asks for it.

mod body;
mod caller;

pub use body::{JsonBody, MAX_BODY};
pub use caller::{Accesses, Caller};
