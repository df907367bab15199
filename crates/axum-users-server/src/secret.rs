//! The signing secret: from the setting, or generated once into a file only the owner reads.

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use rand::RngCore as _;

use crate::config::ConfigError;

/// Shortest secret accepted, in bytes (PyJWT warns below this for HS256).
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses a secret under [`MIN_SECRET_BYTES`].
///
/// # Errors
/// A [`ConfigError`] naming `setting`.
pub fn check_len(setting: &'static str, secret: &str) -> Result<(), ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::new(
            setting,
            format!(
                "the secret must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                secret.len()
            ),
        ));
    }
    Ok(())
}

/// The secret: `configured` if set, else the file's content, else a new random secret written
/// to the file with mode 0600 (with a warning, since every instance must share it).
///
/// # Errors
/// A [`ConfigError`] when the file cannot be read or written, or holds a short secret.
pub fn load_or_create(configured: Option<&str>, file: &Path) -> Result<String, ConfigError> {
    if let Some(s) = configured {
        check_len("AXUM_USERS_SECRET", s)?;
        return Ok(s.to_owned());
    }
    let setting = "AXUM_USERS_SECRET_FILE";
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let s = text.trim().to_owned();
            check_len(setting, &s)?;
            Ok(s)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            write_private(file, &secret).map_err(|e| {
                ConfigError::new(setting, format!("cannot write {}: {e}", file.display()))
            })?;
            tracing::warn!(
                file = %file.display(),
                "no AXUM_USERS_SECRET set: generated a signing secret into this file; \
                 set AXUM_USERS_SECRET to share one secret across instances"
            );
            Ok(secret)
        }
        Err(e) => Err(ConfigError::new(
            setting,
            format!("cannot read {}: {e}", file.display()),
        )),
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_owner_only_permissions_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        let a = load_or_create(None, &file).unwrap();
        assert!(a.len() >= MIN_SECRET_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(load_or_create(None, &file).unwrap(), a);
        std::fs::write(&file, "short\n").unwrap();
        assert!(load_or_create(None, &file).is_err());
        assert!(load_or_create(Some("x".repeat(31).as_str()), &file).is_err());
    }
}
