//! HTTP handlers, one module per endpoint family, and the one route table:
//! the app is built from it, and the metrics name requests after it.

pub mod checkins;
mod fallback;
pub mod guest_passes;
mod idempotency;
pub mod service;

use actix_web::http::Method;
use actix_web::{web, Route};

use crate::extract::Accesses;
use crate::store::Access;

/// One operation of a resource: its method, its name in metrics (the
/// contract's operationId) and its handler.
pub struct Operation {
    pub method: Method,
    pub id: &'static str,
    /// How it uses the database (whether it takes a share of it).
    pub access: Access,
    handler: fn() -> Route,
}

/// A path and the operations it answers; every other method gets 405 with
/// an `Allow` header listing these.
pub struct Resource {
    pub path: &'static str,
    /// Under the configured base path (the API), or at the root (service endpoints).
    pub in_api: bool,
    pub operations: &'static [Operation],
}

pub static ROUTES: &[Resource] = &[
    Resource {
        path: "/health",
        in_api: false,
        operations: &[Operation {
            method: Method::GET,
            id: "health",
            access: Access::Read,
            handler: || web::get().to(service::health),
        }],
    },
    Resource {
        path: "/readyz",
        in_api: false,
        operations: &[Operation {
            method: Method::GET,
            id: "readyz",
            access: Access::Read,
            handler: || web::get().to(service::health),
        }],
    },
    Resource {
        path: "/livez",
        in_api: false,
        operations: &[Operation {
            method: Method::GET,
            id: "livez",
            access: Access::Read,
            handler: || web::get().to(service::livez),
        }],
    },
    Resource {
        path: "/metrics",
        in_api: false,
        operations: &[Operation {
            method: Method::GET,
            id: "metrics",
            access: Access::Read,
            handler: || web::get().to(service::metrics),
        }],
    },
    Resource {
        path: "/openapi.yaml",
        in_api: false,
        operations: &[Operation {
            method: Method::GET,
            id: "openapiSpec",
            access: Access::Read,
            handler: || web::get().to(service::openapi),
        }],
    },
    Resource {
        path: "/guest-passes",
        in_api: true,
        operations: &[
            Operation {
                method: Method::GET,
                id: "searchGuestPasses",
                access: Access::Search,
                handler: || web::get().to(guest_passes::search),
            },
            Operation {
                method: Method::POST,
                id: "createGuestPass",
                access: Access::Queued,
                handler: || web::post().to(guest_passes::create),
            },
        ],
    },
    Resource {
        path: "/guest-passes/{guestPassId}",
        in_api: true,
        operations: &[
            Operation {
                method: Method::GET,
                id: "getGuestPass",
                access: Access::Lookup,
                handler: || web::get().to(guest_passes::get),
            },
            Operation {
                method: Method::DELETE,
                id: "cancelGuestPass",
                access: Access::Write,
                handler: || web::delete().to(guest_passes::cancel),
            },
        ],
    },
    Resource {
        path: "/guest-passes/{guestPassId}/checkins",
        in_api: true,
        operations: &[Operation {
            method: Method::GET,
            id: "listCheckins",
            access: Access::Read,
            handler: || web::get().to(checkins::list),
        }],
    },
    Resource {
        path: "/checkins",
        in_api: true,
        operations: &[Operation {
            method: Method::POST,
            id: "checkinGuest",
            access: Access::Queued,
            handler: || web::post().to(checkins::checkin),
        }],
    },
];

/// What a matched request was routed to. Attached to each resource (and to
/// other services, such as the front desk, under one name), so the
/// request-observing middleware names the operation without matching paths
/// again; a request without it matched nothing.
pub enum Matched {
    Resource(&'static Resource),
    Named(&'static str),
}

impl Matched {
    /// The operationId, or `methodNotAllowed` for a method the resource lacks.
    pub fn operation(&self, method: &Method) -> &'static str {
        match self {
            Matched::Resource(resource) => resource
                .operations
                .iter()
                .find(|op| op.method == method)
                .map_or("methodNotAllowed", |op| op.id),
            Matched::Named(name) => name,
        }
    }
}

/// Registers every resource of `ROUTES`, the API ones under `base_path`,
/// and the envelope-answering fallbacks for unknown paths and methods.
pub fn configure(cfg: &mut web::ServiceConfig, base_path: &str) {
    for resource in ROUTES {
        let path = if resource.in_api {
            format!("{base_path}{}", resource.path)
        } else {
            resource.path.to_owned()
        };
        let allow = resource
            .operations
            .iter()
            .map(|op| op.method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let accesses = Accesses(
            resource
                .operations
                .iter()
                .map(|op| (op.method.clone(), op.access))
                .collect(),
        );
        let mut service = web::resource(path)
            .app_data(Matched::Resource(resource))
            .app_data(accesses)
            .default_service(fallback::method_not_allowed(allow));
        for operation in resource.operations {
            service = service.route((operation.handler)());
        }
        cfg.service(service);
    }
    cfg.default_service(web::to(fallback::resource_not_found));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_operation_is_routed_once() {
        let mut ids: Vec<&str> = ROUTES
            .iter()
            .flat_map(|r| r.operations.iter().map(|op| op.id))
            .collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
        for op in [
            "createGuestPass",
            "getGuestPass",
            "searchGuestPasses",
            "cancelGuestPass",
            "checkinGuest",
            "listCheckins",
        ] {
            assert!(ids.contains(&op), "{op}");
        }
    }

    #[test]
    fn a_missing_method_is_named_method_not_allowed() {
        let checkins = Matched::Resource(&ROUTES[8]);
        assert_eq!(checkins.operation(&Method::POST), "checkinGuest");
        assert_eq!(checkins.operation(&Method::PUT), "methodNotAllowed");
    }
}
