//! `Caller`: the authenticated principal of a request. Extracting it checks
//! the access headers, charges the principal's rate limit and takes one of
//! its slots of the database (its fair share); a handler that takes a
//! `Caller` runs only for a caller who passed all three, and holds the slot
//! until it finishes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};

use crate::domain::{Scope, UserId};
use crate::error::ApiError;
use crate::share::SharePermit;
use crate::state::AppState;
use crate::store::Access;

/// How each method of the matched resource uses the database; attached to
/// every resource by the route table.
pub struct Accesses(pub Vec<(Method, Access)>);

impl Accesses {
    fn of(&self, method: &Method) -> Access {
        self.0
            .iter()
            .find(|(m, _)| m == method)
            .map_or(Access::Read, |(_, access)| *access)
    }
}

#[derive(Debug)]
pub struct Caller {
    pub scope: Scope,
    /// The narrowest principal authenticated, `kind:id`.
    pub principal: String,
    /// `X-User-ID`, recorded as who created or cancelled a pass.
    pub user_id: Option<UserId>,
    /// One of the principal's slots of the database, freed when the handler
    /// (which owns the `Caller`) finishes.
    pub share: SharePermit,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal("the application state is missing"))?;
            let identity = state.auth.authenticate(&req).await?;
            // Limiting after authentication keeps buckets to real principals.
            state.rate_limit.check(&identity.scope)?;
            // After the rate limit: a request refused anyway must not queue
            // for a slot. Waits up to the pool timeout, then 429. Only a
            // request that will hold a pool connection takes a slot.
            let access = req
                .app_data::<Accesses>()
                .map_or(Access::Read, |a| a.of(req.method()));
            let share = if state.store.holds_a_connection(access) {
                state.share.acquire(&identity.principal).await?
            } else {
                SharePermit::none()
            };
            Ok(Caller {
                share,
                scope: identity.scope,
                principal: identity.principal,
                user_id: identity.user_id,
            })
        })
    }
}
