//! The front desk: a small web app for reception, served at `/desk/` from
//! files embedded in the binary. It speaks to the public API like any client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::config::Config;
use crate::domain::{CHECKIN_CODE_ALPHABET, CHECKIN_CODE_LENGTH};
use crate::error::ApiError;
use crate::routes::Matched;

/// Where the desk lives; outside the API's base path, like `/health`.
pub const PATH: &str = "/desk";

/// Scripts and styles only from the server itself: no inline code, no eval,
/// no framing (clickjacking a door that checks people in), and no form may
/// ever submit, so credentials cannot end up in a URL even if a script fails.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What the page needs to know about the deployment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeskSettings {
    pub base_path: String,
    /// `client`, `chain`, `location`: the levels every operation requires,
    /// hence the credentials the sign-in screen asks for.
    pub access_levels: Vec<&'static str>,
    pub code_alphabet: &'static str,
    pub code_length: usize,
}

impl DeskSettings {
    /// `None` when the deployment runs without the desk (`serve --desk` off).
    pub fn from_config(config: &Config) -> Option<Self> {
        if !config.desk {
            return None;
        }
        let levels = config.auth_levels;
        let access_levels = [
            (levels.client, "client"),
            (levels.chain, "chain"),
            (levels.location, "location"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        Some(Self {
            base_path: config.base_path.clone(),
            access_levels,
            // The alphabet is ASCII by construction.
            code_alphabet: std::str::from_utf8(CHECKIN_CODE_ALPHABET).unwrap_or_default(),
            code_length: CHECKIN_CODE_LENGTH,
        })
    }
}

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("static/index.html"),
    },
    Asset {
        path: "/desk.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("static/desk.css"),
    },
    Asset {
        path: "/desk.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("static/desk.js"),
    },
    Asset {
        path: "/qr.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("static/qr.js"),
    },
    Asset {
        path: "/icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("static/icon.svg"),
    },
];

/// Registers `/desk` and everything under it. Call it before the API's own
/// routes: with an empty base path the API's scope would match `/desk` first.
pub fn configure(cfg: &mut web::ServiceConfig, settings: DeskSettings) {
    let settings = web::Data::new(settings);
    let mut scope = web::scope(PATH)
        .wrap(
            DefaultHeaders::new()
                .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
                .add((header::X_FRAME_OPTIONS, "DENY"))
                .add((header::REFERRER_POLICY, "no-referrer"))
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
        )
        .app_data(settings)
        .app_data(Matched::Named("desk"))
        .service(
            web::resource("/config.json")
                .route(web::get().to(config_json))
                .default_service(web::to(method_not_allowed)),
        );
    for asset in ASSETS {
        scope = scope.service(
            web::resource(asset.path)
                .route(web::get().to(move || serve(asset)))
                .default_service(web::to(method_not_allowed)),
        );
    }
    cfg.service(
        web::resource(PATH)
            .app_data(Matched::Named("desk"))
            .route(web::get().to(to_trailing_slash))
            .default_service(web::to(method_not_allowed)),
    )
    .service(scope.default_service(web::to(not_found)));
}

async fn serve(asset: &'static Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        // Small files that change with every release of the binary: always revalidate.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}

async fn config_json(settings: web::Data<DeskSettings>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(settings.get_ref())
}

/// The page's relative links (`desk.js`) resolve only under `/desk/`.
async fn to_trailing_slash() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, HeaderValue::from_static("/desk/")))
        .finish()
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::ResourceNotFound)
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        allow: "GET".into(),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn asset(path: &str) -> &'static str {
        let asset = ASSETS.iter().find(|a| a.path == path).expect("asset");
        std::str::from_utf8(asset.body).expect("utf-8")
    }

    fn serve_config(args: &[&str]) -> Config {
        let mut argv = vec!["guestpass", "serve"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).expect("arguments").command {
            Command::Serve(serve) => serve.config(),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn the_desk_is_off_unless_asked_for_and_on_with_the_demo() {
        assert!(!serve_config(&[]).desk);
        assert!(serve_config(&["--desk"]).desk);
        assert!(serve_config(&["--demo"]).desk);
        assert!(DeskSettings::from_config(&Config::new("x.db")).is_none());
    }

    #[test]
    fn settings_name_the_configured_levels_and_the_code_alphabet() {
        let mut config = Config::new("x.db");
        config.desk = true;
        config.auth_levels = "client,location".parse().expect("levels");
        let settings = DeskSettings::from_config(&config).expect("on");
        assert_eq!(settings.access_levels, ["client", "location"]);
        assert_eq!(settings.code_alphabet, "23456789ABCDEFGHJKMNPQRSTUVWXYZ");
        assert_eq!(settings.code_length, 10);
        assert_eq!(
            serde_json::to_value(&settings).expect("json")["basePath"],
            "/members/v1.0"
        );
    }

    /// The CSP forbids inline code; these would silently stop working.
    #[test]
    fn the_page_has_no_inline_script_style_or_handlers() {
        let html = asset("/");
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src="), "inline <script{tag}>");
        }
        assert!(!html.contains("<style"), "inline <style>");
        assert!(!html.contains(" style="), "style attribute");
        let lower = html.to_ascii_lowercase();
        for (at, _) in lower.match_indices(" on") {
            let name: String = lower[at + 1..]
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            let after = lower[at + 1 + name.len()..].chars().next();
            assert_ne!(after, Some('='), "inline handler {name}=");
        }
        assert!(
            !html.contains("http:") && !html.contains("https:"),
            "an external URL"
        );
    }

    /// Names and emails come from guests: only ever set as text, never as markup or code.
    #[test]
    fn the_scripts_never_build_markup_or_code_from_strings() {
        for path in ["/desk.js", "/qr.js"] {
            let js = asset(path);
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "localStorage",
                "http://",
                "https://",
            ] {
                let allowed = banned == "http://" && js.contains("http://www.w3.org/2000/svg");
                let hits = js.matches(banned).count();
                let expected = usize::from(allowed);
                assert_eq!(hits, expected, "{path} uses {banned}");
            }
        }
    }
}
