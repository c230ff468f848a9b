//! `/docs`: Swagger UI over our OpenAPI document, with one correction to how it draws
//! padlocks.
//!
//! An operation where login is optional (a stranger gets the public view, a logged-in
//! user more) lists the empty requirement `{}` next to `bearer` and `session_cookie`:
//! that is how OpenAPI says "or no credentials", and clients and fuzzers read it so.
//! Swagger UI 5 decides an operation's padlock with `authSelectors.isAuthorized`, which
//! counts `{}` as always satisfied: such operations showed the closed ("authorized")
//! padlock before anyone logged in, while login-only ones showed the open one. Order
//! in the list does not matter to it, and `[{}]` alone would hide the padlock but also
//! stop Swagger UI from sending the token. So the initializer registers a small plugin
//! that leaves `{}` out of that decision: every operation that takes a login shows the
//! open padlock until you authorize and the closed one after, and requests still carry
//! the token. The document itself is unchanged.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the UI is served and where it reads the document.
const DOCS_PATH: &str = "/docs";
const DOCUMENT_URL: &str = "/openapi.json";

/// The plugin; registered after Swagger UI's own `DownloadUrl` plugin.
const OPTIONAL_LOGIN_PLUGIN: &str = r#"// Agora: a `{}` (no credentials) requirement does not make an operation "authorized".
const OptionalLoginPadlock = () => ({
  statePlugins: {
    auth: {
      wrapSelectors: {
        isAuthorized: (ori) => (state, securities) =>
          ori(securities && typeof securities.filter === "function"
            ? securities.filter((requirement) => !(requirement && requirement.size === 0))
            : securities),
      },
    },
  },
});
"#;
const PLUGINS_ANCHOR: &str = "SwaggerUIBundle.plugins.DownloadUrl";

/// Swagger UI at `/docs` and the document at `/openapi.json`.
pub fn router<S: Clone + Send + Sync + 'static>(doc: utoipa::openapi::OpenApi) -> Router<S> {
    let initializer = initializer();
    Router::new()
        .route(
            &format!("{DOCS_PATH}/swagger-initializer.js"),
            get(move || {
                let body = initializer.clone();
                async move { ([(header::CONTENT_TYPE, "text/javascript")], body) }
            }),
        )
        .merge(SwaggerUi::new(DOCS_PATH).url(DOCUMENT_URL, doc))
}

/// Swagger UI's initializer as `SwaggerUi` would serve it, plus the plugin.
fn initializer() -> String {
    let config = Arc::new(Config::new([DOCUMENT_URL]));
    let file = utoipa_swagger_ui::serve("swagger-initializer.js", config)
        .expect("the vendored Swagger UI formats its initializer")
        .expect("the vendored Swagger UI has swagger-initializer.js");
    let js = String::from_utf8(file.bytes.into_owned()).expect("the initializer is UTF-8");
    assert!(
        js.contains(PLUGINS_ANCHOR),
        "Swagger UI's initializer no longer lists {PLUGINS_ANCHOR}: update src/docs.rs"
    );
    format!(
        "{OPTIONAL_LOGIN_PLUGIN}\n{}",
        js.replacen(
            PLUGINS_ANCHOR,
            &format!("{PLUGINS_ANCHOR},\n      OptionalLoginPadlock"),
            1
        )
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_initializer_registers_the_plugin_once_and_keeps_the_document_url() {
        let js = super::initializer();
        assert_eq!(js.matches("const OptionalLoginPadlock").count(), 1);
        assert!(
            js.contains("SwaggerUIBundle.plugins.DownloadUrl,\n      OptionalLoginPadlock"),
            "{js}"
        );
        assert!(js.contains("\"url\": \"/openapi.json\""), "{js}");
    }
}
