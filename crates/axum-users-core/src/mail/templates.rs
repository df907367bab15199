//! The words of the emails: minijinja templates shipped with the crate, each one
//! replaceable by a file in a folder of the user's.

use std::{fmt, io, path::Path};

use minijinja::{Environment, UndefinedBehavior, context};

use super::{Email, MailError};

/// Which email to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// "Reset your password", after `POST /auth/forgot-password`.
    ResetPassword,
    /// "Verify your email address", after `POST /auth/request-verify-token`.
    Verify,
}

impl EmailKind {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::ResetPassword, Self::Verify];

    /// The file-name stem of this kind's templates (`reset_password`, `verify`).
    #[must_use]
    pub fn stem(self) -> &'static str {
        match self {
            Self::ResetPassword => "reset_password",
            Self::Verify => "verify",
        }
    }

    /// The subject, text and HTML template names, in that order.
    fn names(self) -> [&'static str; 3] {
        match self {
            Self::ResetPassword => [
                "reset_password.subject.txt",
                "reset_password.txt",
                "reset_password.html",
            ],
            Self::Verify => ["verify.subject.txt", "verify.txt", "verify.html"],
        }
    }
}

/// Every template file name, with the builtin source.
const BUILTIN: [(&str, &str); 6] = [
    (
        "reset_password.subject.txt",
        include_str!("../../templates/reset_password.subject.txt"),
    ),
    (
        "reset_password.txt",
        include_str!("../../templates/reset_password.txt"),
    ),
    (
        "reset_password.html",
        include_str!("../../templates/reset_password.html"),
    ),
    (
        "verify.subject.txt",
        include_str!("../../templates/verify.subject.txt"),
    ),
    ("verify.txt", include_str!("../../templates/verify.txt")),
    ("verify.html", include_str!("../../templates/verify.html")),
];

/// The email templates: [minijinja](https://docs.rs/minijinja) (Jinja2) sources, one file per
/// part.
///
/// | file | part |
/// |---|---|
/// | `reset_password.subject.txt` | the reset email's subject (whitespace and newlines collapse to single spaces) |
/// | `reset_password.txt` | its plain-text body |
/// | `reset_password.html` | its HTML body |
/// | `verify.subject.txt`, `verify.txt`, `verify.html` | the same for the verification email |
///
/// Each template gets two variables: `email` (the recipient's address) and `link` (the
/// link with the token). In the `.html` templates every value is HTML-escaped (write
/// `{{ link }}`, not `{{ link|e }}`); the `.txt` templates are not escaped. A variable that
/// does not exist is an error, so a typo shows at start-up rather than as an empty link.
///
/// The builtin templates live in the crate's `templates/` folder; copy one as a start.
///
/// ```
/// use axum_users_core::mail::{EmailKind, EmailTemplates};
/// let email = EmailTemplates::builtin()
///     .render(EmailKind::Verify, "arthur@camelot.example", "https://camelot.example/verify?token=t&x=1")
///     .unwrap();
/// assert_eq!(email.subject, "Verify your email address");
/// assert!(email.text.contains("https://camelot.example/verify?token=t&x=1"));
/// assert!(email.html.contains("token=t&amp;x=1"));
/// ```
pub struct EmailTemplates {
    env: Environment<'static>,
    overridden: Vec<&'static str>,
}

impl fmt::Debug for EmailTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailTemplates")
            .field("overridden", &self.overridden)
            .finish_non_exhaustive()
    }
}

impl Default for EmailTemplates {
    fn default() -> Self {
        Self::builtin()
    }
}

impl EmailTemplates {
    /// The templates that ship with the crate.
    #[must_use]
    pub fn builtin() -> Self {
        let mut env = Self::environment();
        for (name, source) in BUILTIN {
            // The builtin sources are fixed and tested: they compile.
            if let Err(error) = env.add_template(name, source) {
                unreachable!("builtin email template {name} does not compile: {error}");
            }
        }
        Self {
            env,
            overridden: Vec::new(),
        }
    }

    /// The builtin templates, with each file of the table above that exists in `dir`
    /// taking its builtin's place. Other files in `dir` are ignored, with a warning in the
    /// log (a misspelt name would otherwise pass unseen).
    ///
    /// Every template is compiled and rendered once with sample values here, so a broken
    /// template fails start-up rather than a user's request.
    ///
    /// # Errors
    /// [`MailError::TemplateDir`] when `dir` or a file cannot be read;
    /// [`MailError::Template`] when a template does not compile or render.
    pub fn from_dir(dir: &Path) -> Result<Self, MailError> {
        let dir_error = |path: &Path| {
            let path = path.to_owned();
            move |source: io::Error| MailError::TemplateDir { path, source }
        };
        let mut env = Self::environment();
        let mut overridden = Vec::new();
        for (name, builtin) in BUILTIN {
            let path = dir.join(name);
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => {
                    overridden.push(name);
                    source
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => builtin.to_owned(),
                Err(error) => return Err(dir_error(&path)(error)),
            };
            env.add_template_owned(name, source)
                .map_err(|error| template_error(name, error))?;
        }
        for entry in std::fs::read_dir(dir).map_err(dir_error(dir))? {
            let entry = entry.map_err(dir_error(dir))?;
            let file_name = entry.file_name();
            let known = BUILTIN.iter().any(|(name, _)| file_name == *name);
            if !known && !file_name.to_string_lossy().starts_with('.') {
                tracing::warn!(
                    file = %entry.path().display(),
                    "not an email template name, ignored (expected one of reset_password.subject.txt, \
                     reset_password.txt, reset_password.html, verify.subject.txt, verify.txt, verify.html)"
                );
            }
        }
        let templates = Self { env, overridden };
        for kind in EmailKind::ALL {
            templates.render(
                kind,
                "user@example.com",
                "https://example.com/path?token=sample",
            )?;
        }
        Ok(templates)
    }

    /// The template files that came from the folder rather than the crate.
    #[must_use]
    pub fn overridden(&self) -> &[&'static str] {
        &self.overridden
    }

    /// Writes the `kind` email to `to`, carrying `link`.
    ///
    /// # Errors
    /// [`MailError::Template`] when a template fails to render (an unknown variable, a
    /// failing filter).
    pub fn render(&self, kind: EmailKind, to: &str, link: &str) -> Result<Email, MailError> {
        let ctx = context! { email => to, link => link };
        let [subject, text, html] = kind.names().map(|name| {
            self.env
                .get_template(name)
                .and_then(|template| template.render(&ctx))
                .map_err(|error| template_error(name, error))
        });
        Ok(Email {
            to: to.to_owned(),
            subject: subject?.split_whitespace().collect::<Vec<_>>().join(" "),
            text: text?,
            html: html?,
        })
    }

    fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        // `.html` names are HTML-escaped by minijinja's default auto-escape rule.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env
    }
}

fn template_error(name: &'static str, error: minijinja::Error) -> MailError {
    MailError::Template {
        name,
        source: Box::new(error),
    }
}
