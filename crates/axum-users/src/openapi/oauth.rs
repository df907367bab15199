//! The OAuth routers' operations: `GET {prefix}/authorize` and `GET {prefix}/callback`, for
//! login (`oauth:{provider}.{backend}.*`) and association (`oauth-associate:{provider}.*`), as
//! FastAPI Users names them.

use serde_json::{Value, json};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::ArrayBuilder;
use utoipa::openapi::{Object, ObjectBuilder, Required, ResponseBuilder, Schema, Type};

use super::components::{BEARER_RESPONSE, ERROR_MODEL, USER_READ};
use super::operations::{
    AUTH_TAG, Ctx, Route, Routes, forbidden, join, operation, protected, user_example,
};
use super::responses as r;
use super::{OAuthDocOptions, TransportDoc};
use crate::error::ErrorCode;

/// `OAuth2AuthorizeResponse`: `{"authorization_url"}`.
const AUTHORIZE_RESPONSE: &str = "OAuth2AuthorizeResponse";

const CSRF_COOKIE: &str =
    "fastapiusersoauthcsrf=<token>; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure";
const CSRF_CLEARED: &str =
    "fastapiusersoauthcsrf=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure";

fn authorize_response_schema() -> Schema {
    ObjectBuilder::new()
        .title(Some(AUTHORIZE_RESPONSE))
        .property(
            "authorization_url",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .title(Some("Authorization Url")),
        )
        .required("authorization_url")
        .into()
}

fn query(
    name: &str,
    description: &str,
    schema: impl Into<utoipa::openapi::RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn string() -> Object {
    Object::with_type(Type::String)
}

/// Adds the CSRF cookie's `Set-Cookie` to a response.
fn with_cookie(
    mut response: utoipa::openapi::Response,
    example: &str,
    what: &str,
) -> utoipa::openapi::Response {
    let header = HeaderBuilder::new()
        .schema(Some(string()))
        .description(Some(what))
        .example(Some(json!(example)))
        .build();
    response
        .headers
        .insert("Set-Cookie".to_owned(), header.into());
    response
}

fn detail(value: &str) -> Value {
    json!({ "detail": value })
}

/// The 400 of a callback: every `detail` it can say.
fn callback_bad_request(associate: bool) -> utoipa::openapi::Response {
    let code = |c: ErrorCode, summary: &'static str| (c.as_str(), summary, detail(c.as_str()));
    let mut examples: Vec<r::Example> = vec![
        code(
            ErrorCode::AccessTokenDecodeError,
            "The state is missing, malformed, forged, or of another audience.",
        ),
        code(
            ErrorCode::AccessTokenAlreadyExpired,
            "The state has expired.",
        ),
        code(
            ErrorCode::OauthInvalidState,
            "The CSRF cookie is missing or does not match the state, the state is for another \
             provider or was already used, or the ID token's nonce is not this flow's.",
        ),
        code(
            ErrorCode::OauthNotAvailableEmail,
            "The provider gave no email, or one that is not a valid address.",
        ),
    ];
    if associate {
        examples.push(code(
            ErrorCode::OauthUserAlreadyExists,
            "The provider account is linked to another user.",
        ));
        examples.push((
            "Bad Request",
            "No `code`, or a state issued to another user (or for login).",
            detail("Bad Request"),
        ));
    } else {
        examples.push(code(
            ErrorCode::OauthUserAlreadyExists,
            "A user has the provider's email, and the router does not associate by email.",
        ));
        examples.push(code(
            ErrorCode::LoginBadCredentials,
            "The user is inactive.",
        ));
        examples.push(("Bad Request", "No `code`.", detail("Bad Request")));
    }
    examples.push((
        "access_denied",
        "The provider's `error` parameter, passed on (e.g. the user declined).",
        detail("access_denied"),
    ));
    r::json("Bad Request", ERROR_MODEL, examples)
}

fn provider_failed() -> utoipa::openapi::Response {
    r::json(
        "The provider refused the code or answered something unusable (an invalid ID token).",
        ERROR_MODEL,
        vec![(
            "Internal Server Error",
            "Provider failure.",
            detail("Internal Server Error"),
        )],
    )
}

fn unavailable() -> utoipa::openapi::Response {
    r::unavailable_because(
        "The provider (or its OpenID Connect discovery) or the user store is unavailable; retry \
         after `Retry-After` seconds.",
    )
}

fn see_other() -> utoipa::openapi::Response {
    let location = HeaderBuilder::new()
        .schema(Some(string()))
        .description(Some("The frontend's page."))
        .build();
    let mut response = ResponseBuilder::new()
        .description("Redirected to the frontend (the router is configured to); the transport's headers, a login cookie among them, are kept.")
        .build();
    response
        .headers
        .insert("Location".to_owned(), location.into());
    with_cookie(response, CSRF_CLEARED, "The CSRF cookie, cleared.")
}

fn authorize_operation(
    name: &str,
    path: &str,
    description: &str,
    routes: &mut Routes,
) -> OperationBuilder {
    let scopes = ArrayBuilder::new().items(string());
    let ok = r::json(
        "Successful Response",
        AUTHORIZE_RESPONSE,
        vec![(
            "url",
            "Where to send the browser.",
            json!({
                "authorization_url": "https://accounts.example.com/authorize?response_type=code&client_id=…&state=…&code_challenge=…&code_challenge_method=S256"
            }),
        )],
    );
    if !routes.schemas.iter().any(|(n, _)| n == AUTHORIZE_RESPONSE) {
        routes
            .schemas
            .push((AUTHORIZE_RESPONSE.to_owned(), authorize_response_schema()));
    }
    operation(name, path, &HttpMethod::Get, AUTH_TAG, description)
        .parameter(query(
            "scopes",
            "Scopes to ask for, repeatable (`scopes=a&scopes=b`); none: the provider's \
             configured scopes.",
            scopes,
        ))
        .response(
            "200",
            with_cookie(
                ok,
                CSRF_COOKIE,
                "The CSRF cookie the callback checks the state against.",
            ),
        )
        .response("503", unavailable())
}

fn callback_parameters(builder: OperationBuilder) -> OperationBuilder {
    builder
        .parameter(query("code", "The authorization code.", string()))
        .parameter(query(
            "state",
            "The state of the authorize route.",
            string(),
        ))
        .parameter(query(
            "error",
            "The provider's error (the user declined, …).",
            string(),
        ))
}

fn push(routes: &mut Routes, path: String, builder: OperationBuilder) {
    routes.routes.push(Route {
        path,
        method: HttpMethod::Get,
        operation: builder.build(),
    });
}

/// `GET {prefix}/authorize` and `GET {prefix}/callback` of a login router.
pub(super) fn login(
    prefix: &str,
    provider: &str,
    backend: &str,
    options: &OAuthDocOptions,
) -> Routes {
    let mut routes = Routes::default();
    let path = join(prefix, "/authorize");
    let builder = authorize_operation(
        &format!("oauth:{provider}.{backend}.authorize"),
        &path,
        "Starts a login with the provider: answers the URL to send the browser to, and sets \
         the CSRF cookie the state is bound to.",
        &mut routes,
    );
    push(&mut routes, path, builder);

    let path = join(prefix, "/callback");
    let mut builder = callback_parameters(operation(
        &format!("oauth:{provider}.{backend}.callback"),
        &path,
        &HttpMethod::Get,
        AUTH_TAG,
        "Where the provider sends the browser back. The state and the CSRF cookie are checked \
         (and the state spent) before the code is exchanged; a linked account logs its user in, \
         an unlinked one with a known email is linked only if the router associates by email, \
         otherwise a user is created. The answer is the backend's login response, with the CSRF \
         cookie cleared.",
    ));
    builder = if options.frontend_redirect {
        builder.response("303", see_other())
    } else {
        match &options.transport {
            TransportDoc::Bearer => builder.response(
                "200",
                with_cookie(
                    r::json("Logged in.", BEARER_RESPONSE, vec![]),
                    CSRF_CLEARED,
                    "The CSRF cookie, cleared.",
                ),
            ),
            TransportDoc::Cookie { name } => builder.response(
                "204",
                with_cookie(
                    r::empty("Logged in: the token is in the cookie."),
                    &format!("{name}=<token>; HttpOnly; Path=/; SameSite=lax; Secure"),
                    "The session cookie; a second `Set-Cookie` clears the CSRF cookie.",
                ),
            ),
        }
    };
    builder = builder
        .response("400", callback_bad_request(false))
        .response("500", provider_failed())
        .response("503", unavailable());
    push(&mut routes, path, builder);
    routes
}

/// `GET {prefix}/authorize` and `GET {prefix}/callback` of an associate router.
pub(super) fn associate(
    prefix: &str,
    provider: &str,
    options: &OAuthDocOptions,
    ctx: &Ctx<'_>,
) -> Routes {
    let mut routes = Routes::default();
    let unverified = options
        .requires_verification
        .then_some("the user is not verified");
    let path = join(prefix, "/authorize");
    let mut builder = protected(
        authorize_operation(
            &format!("oauth-associate:{provider}.authorize"),
            &path,
            "Starts linking a provider account to the current user: answers the URL to send \
             the browser to, and sets the CSRF cookie the state (which names the user) is \
             bound to.",
            &mut routes,
        ),
        ctx,
    )
    .response("401", r::unauthorized());
    if let Some(response) = forbidden(unverified, false, ctx) {
        builder = builder.response("403", response);
    }
    push(&mut routes, path, builder);

    let path = join(prefix, "/callback");
    let examples = if ctx.custom_fields {
        vec![]
    } else {
        vec![("user", "The user, now linked.", user_example())]
    };
    let ok = if options.frontend_redirect {
        ("303", see_other())
    } else {
        (
            "200",
            with_cookie(
                r::json("Successful Response: the user.", USER_READ, examples),
                CSRF_CLEARED,
                "The CSRF cookie, cleared.",
            ),
        )
    };
    let mut builder = protected(
        callback_parameters(operation(
            &format!("oauth-associate:{provider}.callback"),
            &path,
            &HttpMethod::Get,
            AUTH_TAG,
            "Where the provider sends the browser back: links the provider account to the \
             current user (or refreshes it), after the same checks as the login callback. An \
             account linked to another user is refused.",
        )),
        ctx,
    )
    .response(ok.0, ok.1)
    .response("400", callback_bad_request(true))
    .response("401", r::unauthorized());
    if let Some(response) = forbidden(unverified, false, ctx) {
        builder = builder.response("403", response);
    }
    builder = builder
        .response("500", provider_failed())
        .response("503", unavailable());
    push(&mut routes, path, builder);
    routes
}
