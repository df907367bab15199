//! The pages' minijinja templates: built in, each replaceable by a file of the folder named by
//! `AXUM_USERS_PAGE_TEMPLATES`.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value, context};

/// The templates, by file name: the shared layout, then one per page.
const BUILTIN: [(&str, &str); 3] = [
    (
        "layout.html",
        include_str!("../../templates/pages/layout.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../templates/pages/reset_password.html"),
    ),
    (
        "verify.html",
        include_str!("../../templates/pages/verify.html"),
    ),
];

/// The page named `reset_password.html`.
pub(crate) const RESET: &str = "reset_password.html";
/// The page named `verify.html`.
pub(crate) const VERIFY: &str = "verify.html";

/// Message codes a reset page can be asked to show in its `form` view.
pub(crate) const RESET_FORM_MESSAGES: [&str; 7] = [
    "empty",
    "mismatch",
    "too_long",
    "invalid_password",
    "rate_limited",
    "unavailable",
    "error",
];
/// Message codes a reset page can be asked to show in its `problem` view.
pub(crate) const RESET_PROBLEMS: [&str; 7] = [
    "no_token",
    "invalid_link",
    "expired_link",
    "bad_token",
    "rate_limited",
    "unavailable",
    "error",
];
/// Message codes a verify page can be asked to show in its `problem` view.
pub(crate) const VERIFY_PROBLEMS: [&str; 6] = [
    "no_token",
    "invalid_link",
    "expired_link",
    "rate_limited",
    "unavailable",
    "error",
];

/// The compiled templates.
pub struct PageTemplates {
    env: Environment<'static>,
    overridden: Vec<&'static str>,
}

impl std::fmt::Debug for PageTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTemplates")
            .field("overridden", &self.overridden)
            .finish_non_exhaustive()
    }
}

fn one_line(error: &minijinja::Error) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl PageTemplates {
    fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        // `.html` names are HTML-escaped by minijinja's default auto-escape rule; an unknown
        // variable or message code is an error, caught by the check at start-up.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env
    }

    /// The templates that ship with the server.
    ///
    /// # Errors
    /// Never for the shipped sources (they are tested); the signature matches
    /// [`from_dir`](Self::from_dir).
    pub fn builtin() -> Result<Self, String> {
        let mut env = Self::environment();
        for (name, source) in BUILTIN {
            env.add_template(name, source)
                .map_err(|e| format!("built-in {name}: {}", one_line(&e)))?;
        }
        let templates = Self {
            env,
            overridden: Vec::new(),
        };
        templates.check()?;
        Ok(templates)
    }

    /// The built-in templates, with each of `layout.html`, `reset_password.html` and
    /// `verify.html` found in `dir` taking its built-in's place (other files are ignored with
    /// a warning). Every page is rendered once in each of its states, so a broken template
    /// stops the start rather than a user's request.
    ///
    /// # Errors
    /// A line naming the folder or file and what is wrong.
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        let mut env = Self::environment();
        let mut overridden = Vec::new();
        for (name, builtin) in BUILTIN {
            let path = dir.join(name);
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => {
                    overridden.push(name);
                    source
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => builtin.to_owned(),
                Err(e) => return Err(format!("{}: {e}", path.display())),
            };
            env.add_template_owned(name, source)
                .map_err(|e| format!("{}: {}", path.display(), one_line(&e)))?;
        }
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let file = entry.file_name();
            let known = BUILTIN.iter().any(|(name, _)| file == *name);
            if !known && !file.to_string_lossy().starts_with('.') {
                tracing::warn!(
                    file = %entry.path().display(),
                    "not a page template name, ignored (expected layout.html, reset_password.html, verify.html)"
                );
            }
        }
        let templates = Self { env, overridden };
        templates
            .check()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(templates)
    }

    /// The template files taken from the folder.
    #[must_use]
    pub fn overridden(&self) -> &[&'static str] {
        &self.overridden
    }

    /// Renders page `name` with `ctx`.
    pub(crate) fn render(&self, name: &str, ctx: &Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }

    /// Renders every page in every state with sample values.
    fn check(&self) -> Result<(), String> {
        let sample = |view: &str, message: Option<&str>| {
            context! {
                nonce => "sample",
                view => view,
                message => message,
                reason => message.filter(|m| *m == "invalid_password").map(|_| "a reason"),
                token => "sample.token",
                api => "auth/reset-password",
                min_length => Some(8),
                email => "user@example.com",
            }
        };
        let mut cases = vec![(RESET, sample("form", None)), (RESET, sample("done", None))];
        cases.extend(RESET_FORM_MESSAGES.map(|m| (RESET, sample("form", Some(m)))));
        cases.extend(RESET_PROBLEMS.map(|m| (RESET, sample("problem", Some(m)))));
        cases.push((VERIFY, sample("done", None)));
        cases.push((VERIFY, sample("already", None)));
        cases.extend(VERIFY_PROBLEMS.map(|m| (VERIFY, sample("problem", Some(m)))));
        for (name, ctx) in cases {
            self.render(name, &ctx).map_err(|e| {
                let view = ctx.get_attr("view").unwrap_or_default();
                let message = ctx.get_attr("message").unwrap_or_default();
                format!(
                    "{name} does not render (view {view}, message {message}): {}",
                    one_line(&e)
                )
            })?;
        }
        Ok(())
    }
}
