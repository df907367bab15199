//! The users router's operations: `GET/PATCH {prefix}/me`, `GET/PATCH/DELETE {prefix}/{id}`.

use serde_json::{Value, json};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::{KnownFormat, ObjectBuilder, Required, SchemaFormat, Type};

use super::components::USER_UPDATE;
use super::operations::{
    Ctx, Route, Routes, USERS_TAG, bad_email, forbidden, join, json_body, json_invalid, operation,
    protected, user_response,
};
use super::responses::{self as r, BadRequest};
use crate::UsersRouterOptions;
use crate::error::ErrorCode;

/// The `{id}` path parameter.
fn id_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "The user's id: 32 hex digits in either case, hyphens optional. An id that is not \
             a UUID answers 404.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .title(Some("Id")),
        ))
        .build()
}

/// `GET/PATCH {prefix}/me`, `GET/PATCH/DELETE {prefix}/{id}`.
pub(super) fn users(prefix: &str, options: UsersRouterOptions, ctx: &Ctx<'_>) -> Routes {
    let me = join(prefix, "/me");
    let by_id = join(prefix, "/{id}");
    let unverified = options
        .requires_verification
        .then_some("the user is not verified");
    let not_admin = Some(if options.requires_verification {
        "not a superuser, or not verified"
    } else {
        "not a superuser"
    });
    let update_codes = [
        BadRequest::Code(
            ErrorCode::UpdateUserEmailAlreadyExists,
            "Another user already has this email (in any case).",
        ),
        BadRequest::Password(ErrorCode::UpdateUserInvalidPassword),
        BadRequest::UnreadableBody,
    ];
    let not_object = r::item(
        "model_attributes_type",
        json!(["body"]),
        "Input should be a valid dictionary or object to extract fields from",
        json!([]),
    );
    let null_flag = r::item(
        "bool_type",
        json!(["body", "is_active"]),
        "Input should be a valid boolean",
        Value::Null,
    );

    let mut routes = Routes::default();
    // Every operation, in the order of the contract: authenticated first (401, then 403),
    // then the id (404), then the body.
    let mut add = |path: &str,
                   method: HttpMethod,
                   name: &str,
                   description: &str,
                   why_403: Option<&str>,
                   f: &dyn Fn(OperationBuilder) -> OperationBuilder| {
        let unsafe_method = method != HttpMethod::Get;
        let mut builder = protected(operation(name, path, &method, USERS_TAG, description), ctx);
        if path == by_id {
            builder = builder.parameter(id_parameter());
        }
        builder = f(builder).response("401", r::unauthorized());
        if let Some(response) = forbidden(why_403, unsafe_method, ctx) {
            builder = builder.response("403", response);
        }
        if path == by_id {
            builder = builder.response("404", r::not_found());
        }
        let hashes = method == HttpMethod::Patch;
        let operation = builder.response("503", r::unavailable(hashes)).build();
        routes.routes.push(Route {
            path: path.to_owned(),
            method,
            operation,
        });
    };
    let patch = |builder: OperationBuilder, examples: Vec<r::Example>| {
        builder
            .request_body(Some(json_body(USER_UPDATE)))
            .response("200", user_response("Successful Response", ctx))
            .response("400", r::bad_request(&update_codes))
            .response("413", r::payload_too_large())
            .response("422", r::validation_error(examples))
    };

    add(
        &me,
        HttpMethod::Get,
        "users:current_user",
        "The current user.",
        unverified,
        &|b| b.response("200", user_response("Successful Response", ctx)),
    );
    add(
        &me,
        HttpMethod::Patch,
        "users:patch_current_user",
        "Updates the current user: only the keys present apply; the privileged flags are \
         ignored; an email change resets `is_verified`.",
        unverified,
        &|b| {
            patch(
                b,
                vec![
                    (
                        "value_error",
                        "An invalid email.",
                        r::items(vec![bad_email()]),
                    ),
                    (
                        "model_attributes_type",
                        "A body that is not an object.",
                        r::items(vec![not_object.clone()]),
                    ),
                    json_invalid(),
                ],
            )
        },
    );
    add(
        &by_id,
        HttpMethod::Get,
        "users:user",
        "A user by id (superusers only).",
        not_admin,
        &|b| b.response("200", user_response("Successful Response", ctx)),
    );
    add(
        &by_id,
        HttpMethod::Patch,
        "users:patch_user",
        "Updates a user by id (superusers only), including `is_active`, `is_superuser` and \
         `is_verified`; `null` for `email` or a flag is refused.",
        not_admin,
        &|b| {
            patch(
                b,
                vec![
                    (
                        "bool_type",
                        "`null` for a flag.",
                        r::items(vec![null_flag.clone()]),
                    ),
                    (
                        "value_error",
                        "An invalid email.",
                        r::items(vec![bad_email()]),
                    ),
                    json_invalid(),
                ],
            )
        },
    );
    add(
        &by_id,
        HttpMethod::Delete,
        "users:delete_user",
        "Deletes a user by id (superusers only).",
        not_admin,
        &|b| b.response("204", r::empty("Deleted.")),
    );
    routes
}
