//! What the framework would otherwise answer itself: unknown paths, wrong methods.

use actix_web::{HttpResponse, Route};

use crate::error::ApiError;

pub async fn resource_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::ResourceNotFound)
}

pub fn method_not_allowed(allow: String) -> Route {
    actix_web::web::to(move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
    })
}
