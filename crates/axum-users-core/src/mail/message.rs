//! An [`Email`] as an RFC 5322 message, shared by the SMTP and outbox mailers.

use lettre::{
    Message,
    message::{Mailbox, MultiPart},
};
use rand::Rng;

use super::{Email, MailError};

/// Parses a mailbox (`user@example.com` or `Name <user@example.com>`).
pub(super) fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|error| MailError::InvalidAddress {
            address: address.to_owned(),
            source: Box::new(error),
        })
}

/// Builds the `multipart/alternative` message (text first, HTML last, as RFC 2046 orders
/// them: the last part a client can show wins).
pub(super) fn build(from: &Mailbox, email: &Email) -> Result<Message, MailError> {
    let to = mailbox(&email.to)?;
    // A subject is one line: folding is lettre's job, not the template's.
    let subject = email
        .subject
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(message_id(from)))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|error| MailError::Message(Box::new(error)))
}

/// `<random@sender-domain>`: the sender's domain rather than this host's name, which spam
/// filters prefer and which costs no system call.
fn message_id(from: &Mailbox) -> String {
    let random: u128 = rand::rng().random();
    format!("<{random:032x}@{}>", from.email.domain())
}
