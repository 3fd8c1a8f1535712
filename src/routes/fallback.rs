//! What the framework would otherwise answer itself: unknown paths, wrong methods.

use crate::error::ApiError;

pub async fn resource_not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::ResourceNotFound)
}

pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    actix_web::web::to(move || async move {
        Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    })
}
