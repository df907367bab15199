//! Email validation and normalisation, as FastAPI Users' `EmailStr` (email-validator) does it:
//! surrounding whitespace stripped, the domain lower-cased, the local part kept as typed.

use std::fmt;

/// Longest address accepted, in characters (RFC 3696 errata, email-validator's limit).
pub const MAX_EMAIL_LEN: usize = 320;
const MAX_LOCAL_LEN: usize = 64;
const MAX_DOMAIN_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;
/// Special-use domains (RFC 6761 and friends) that can never receive mail.
const SPECIAL_USE: [&str; 6] = ["arpa", "invalid", "local", "localhost", "onion", "test"];

/// Why an address was refused; `Display` gives the sentence shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailError {
    /// Not exactly one `@`.
    AtSign,
    /// Nothing before the `@`.
    EmptyLocal,
    /// Nothing after the `@`.
    EmptyDomain,
    /// Over 320 characters.
    TooLong,
    /// Local part over 64 characters.
    LocalTooLong,
    /// Domain over 253 characters.
    DomainTooLong,
    /// A domain label over 63 characters.
    LabelTooLong,
    /// Whitespace or another character not allowed in the local part.
    LocalCharacters,
    /// Dots at the start or end, or two in a row, in the local part.
    LocalDots,
    /// A character not allowed in a domain.
    DomainCharacters,
    /// Empty labels, or labels starting or ending with a hyphen.
    DomainLabels,
    /// A domain without a dot (`user@localhost`).
    DomainNoDot,
    /// A special-use or reserved domain (`.test`, `.local`, …).
    SpecialUseDomain,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AtSign => "The email address is not valid. It must have exactly one @-sign.",
            Self::EmptyLocal => "There must be something before the @-sign.",
            Self::EmptyDomain => "There must be something after the @-sign.",
            Self::TooLong => "The email address is too long (at most 320 characters).",
            Self::LocalTooLong => "The email address is too long before the @-sign.",
            Self::DomainTooLong => "The email address is too long after the @-sign.",
            Self::LabelTooLong => "A part of the domain name is too long.",
            Self::LocalCharacters => "The email address contains invalid characters before the @-sign.",
            Self::LocalDots => "The email address has a period in a wrong place before the @-sign.",
            Self::DomainCharacters => "The part after the @-sign contains invalid characters.",
            Self::DomainLabels => "The part after the @-sign is not a valid domain name.",
            Self::DomainNoDot => "The part after the @-sign is not valid. It should have a period.",
            Self::SpecialUseDomain => {
                "The part after the @-sign is a special-use or reserved name that cannot be used with email."
            }
        })
    }
}

impl std::error::Error for EmailError {}

/// Validates an address and returns its normalised form.
///
/// ```
/// use axum_users_core::email::{normalize, EmailError};
/// assert_eq!(normalize("  King.Arthur@Camelot.BT ").unwrap(), "King.Arthur@camelot.bt");
/// assert_eq!(normalize("user@localhost"), Err(EmailError::DomainNoDot));
/// assert_eq!(normalize("a b@example.com"), Err(EmailError::LocalCharacters));
/// ```
///
/// # Errors
/// The first rule the address breaks, as an [`EmailError`].
pub fn normalize(input: &str) -> Result<String, EmailError> {
    let s = input.trim();
    if s.chars().count() > MAX_EMAIL_LEN {
        return Err(EmailError::TooLong);
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EmailError::AtSign);
    };
    if local.is_empty() {
        return Err(EmailError::EmptyLocal);
    }
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    check_local(local)?;
    let domain = domain.to_lowercase();
    check_domain(&domain)?;
    Ok(format!("{local}@{domain}"))
}

fn check_local(local: &str) -> Result<(), EmailError> {
    if local.chars().count() > MAX_LOCAL_LEN {
        return Err(EmailError::LocalTooLong);
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~.".contains(c)
            || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
    };
    if !local.chars().all(allowed) {
        return Err(EmailError::LocalCharacters);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalDots);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    if domain.chars().count() > MAX_DOMAIN_LEN {
        return Err(EmailError::DomainTooLong);
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && c.is_alphanumeric())
    };
    if !domain.chars().all(allowed) {
        return Err(EmailError::DomainCharacters);
    }
    if !domain.contains('.') {
        return Err(EmailError::DomainNoDot);
    }
    for label in domain.split('.') {
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::DomainLabels);
        }
        if label.chars().count() > MAX_LABEL_LEN {
            return Err(EmailError::LabelTooLong);
        }
    }
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(EmailError::DomainLabels);
    }
    if SPECIAL_USE.contains(&tld) {
        return Err(EmailError::SpecialUseDomain);
    }
    Ok(())
}

/// The key an address is unique under: the whole address lower-cased.
///
/// ```
/// assert_eq!(axum_users_core::email::unique_key("King@Camelot.bt"), "king@camelot.bt");
/// ```
#[must_use]
pub fn unique_key(email: &str) -> String {
    email.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(
            normalize("a.b+c@Sub.Example.COM").unwrap(),
            "a.b+c@sub.example.com"
        );
        assert_eq!(normalize("\tx@y.io\n").unwrap(), "x@y.io");
    }

    #[test]
    fn refuses_what_email_validator_refuses() {
        let cases = [
            ("plain", EmailError::AtSign),
            ("a@b@c.com", EmailError::AtSign),
            ("@x.com", EmailError::EmptyLocal),
            ("a@", EmailError::EmptyDomain),
            ("a b@x.com", EmailError::LocalCharacters),
            ("a@x y.com", EmailError::DomainCharacters),
            (".a@x.com", EmailError::LocalDots),
            ("a..b@x.com", EmailError::LocalDots),
            ("a@localhost", EmailError::DomainNoDot),
            ("a@x.local", EmailError::SpecialUseDomain),
            ("a@x.test", EmailError::SpecialUseDomain),
            ("a@x.onion", EmailError::SpecialUseDomain),
            ("a@-x.com", EmailError::DomainLabels),
            ("a@x..com", EmailError::DomainLabels),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), Err(want), "{input}");
        }
        let long_local = format!("{}@x.com", "a".repeat(65));
        assert_eq!(normalize(&long_local), Err(EmailError::LocalTooLong));
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert_eq!(normalize(&long_label), Err(EmailError::LabelTooLong));
        let too_long = format!("a@{}.com", vec!["b".repeat(60); 6].join("."));
        assert!(normalize(&too_long).is_err());
        let huge = "a".repeat(400);
        assert_eq!(normalize(&huge), Err(EmailError::TooLong));
    }
}
