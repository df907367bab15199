//! argon2id hashing in the reference's encoding (argon2-cffi / pwdlib), with bcrypt verified for
//! legacy hashes and rehashed on success.

use std::cell::RefCell;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use super::{HashError, PasswordHasher, Verified};

/// Stored hashes asking for more than this much memory (KiB) are refused, so a tampered row
/// cannot make one login allocate gigabytes.
const MAX_M_COST: u32 = 1024 * 1024;
/// Likewise for passes.
const MAX_T_COST: u32 = 64;
/// Salt length for new hashes (argon2-cffi's default).
const SALT_LEN: usize = 16;
/// bcrypt cost accepted when verifying legacy hashes.
const MAX_BCRYPT_COST: u32 = 16;

/// argon2id parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB (reference: 65536).
    pub m_cost: u32,
    /// Passes (reference: 3).
    pub t_cost: u32,
    /// Lanes (reference: 4).
    pub p_cost: u32,
    /// Hash length in bytes (reference: 32).
    pub output_len: usize,
}

impl Default for Argon2Params {
    /// FastAPI Users 15's parameters (pwdlib → argon2-cffi `RFC_9106_LOW_MEMORY`).
    fn default() -> Self {
        Self {
            m_cost: 65536,
            t_cost: 3,
            p_cost: 4,
            output_len: 32,
        }
    }
}

impl Argon2Params {
    /// Tiny parameters for tests and doc examples only: never in production.
    #[must_use]
    pub fn insecure_fast() -> Self {
        Self {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
            output_len: 32,
        }
    }

    fn to_params(self) -> Result<Params, HashError> {
        Ok(Params::new(
            self.m_cost,
            self.t_cost,
            self.p_cost,
            Some(self.output_len),
        )?)
    }
}

thread_local! {
    /// The calling thread's argon2 memory, kept between hashes (pool workers only).
    static SCRATCH: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    /// Whether this thread keeps its scratch memory (set by the pool's workers).
    static REUSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the current thread as one that keeps its argon2 memory block between hashes.
pub(crate) fn reuse_memory_on_this_thread() {
    REUSE.with(|r| r.set(true));
}

/// The default hasher: argon2id for new hashes; verifies argon2id/argon2i/argon2d and bcrypt
/// (`$2a$`, `$2b$`, `$2y$`), and asks for a rehash of anything not argon2id at the configured
/// parameters.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Argon2Params,
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::new(Argon2Params::default())
    }
}

impl Argon2Hasher {
    /// A hasher producing argon2id hashes with these parameters.
    #[must_use]
    pub fn new(params: Argon2Params) -> Self {
        Self { params }
    }

    /// The parameters new hashes get.
    #[must_use]
    pub fn params(&self) -> Argon2Params {
        self.params
    }
}

fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Argon2Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let p = params.to_params()?;
    let ctx = Argon2::new(algorithm, version, p.clone());
    let blocks = p.block_count();
    if REUSE.with(std::cell::Cell::get) {
        SCRATCH.with(|cell| {
            let mut mem = cell.borrow_mut();
            if mem.len() < blocks {
                mem.resize(blocks, Block::default());
            }
            ctx.hash_password_into_with_memory(password, salt, out, &mut mem[..blocks])
        })?;
    } else {
        ctx.hash_password_into(password, salt, out)?;
    }
    Ok(())
}

/// A parsed `$argon2<v>$v=19$m=..,t=..,p=..$<salt>$<hash>` string.
struct Phc {
    algorithm: Algorithm,
    version: Version,
    params: Argon2Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(s: &str) -> Option<Phc> {
    let mut it = s.split('$');
    if !it.next()?.is_empty() {
        return None;
    }
    let algorithm = match it.next()? {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return None,
    };
    let mut field = it.next()?;
    let version = if let Some(v) = field.strip_prefix("v=") {
        field = it.next()?;
        match v {
            "19" => Version::V0x13,
            "16" => Version::V0x10,
            _ => return None,
        }
    } else {
        Version::V0x10
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in field.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    let salt = B64.decode(it.next()?).ok()?;
    let hash = B64.decode(it.next()?).ok()?;
    if it.next().is_some() {
        return None;
    }
    let params = Argon2Params {
        m_cost: m?,
        t_cost: t?,
        p_cost: p?,
        output_len: hash.len(),
    };
    if params.m_cost > MAX_M_COST || params.t_cost > MAX_T_COST || params.to_params().is_err() {
        return None;
    }
    Some(Phc {
        algorithm,
        version,
        params,
        salt,
        hash,
    })
}

fn bcrypt_cost(hash: &str) -> Option<u32> {
    let rest = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|p| hash.strip_prefix(p))?;
    rest.get(..2)?.parse().ok()
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, HashError> {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let mut out = vec![0u8; self.params.output_len];
        compute(
            Algorithm::Argon2id,
            Version::V0x13,
            self.params,
            password.as_bytes(),
            &salt,
            &mut out,
        )?;
        let p = self.params;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            p.m_cost,
            p.t_cost,
            p.p_cost,
            B64.encode(salt),
            B64.encode(out)
        ))
    }

    fn verify_and_update(&self, password: &str, hash: &str) -> Result<Verified, HashError> {
        if hash.starts_with("$argon2") {
            let phc = parse_phc(hash).ok_or(HashError::UnknownHash)?;
            let mut out = vec![0u8; phc.hash.len()];
            compute(
                phc.algorithm,
                phc.version,
                phc.params,
                password.as_bytes(),
                &phc.salt,
                &mut out,
            )
            .map_err(|_| HashError::UnknownHash)?;
            let valid: bool = out.ct_eq(&phc.hash).into();
            let outdated = phc.algorithm != Algorithm::Argon2id
                || phc.version != Version::V0x13
                || phc.params != self.params;
            let new_hash = if valid && outdated {
                Some(self.hash(password)?)
            } else {
                None
            };
            return Ok(Verified { valid, new_hash });
        }
        if let Some(cost) = bcrypt_cost(hash) {
            if cost > MAX_BCRYPT_COST {
                return Err(HashError::UnknownHash);
            }
            #[allow(clippy::disallowed_methods)] // this is the pool-side implementation
            let valid = bcrypt::verify(password, hash).map_err(|_| HashError::UnknownHash)?;
            let new_hash = if valid {
                Some(self.hash(password)?)
            } else {
                None
            };
            return Ok(Verified { valid, new_hash });
        }
        Err(HashError::UnknownHash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by FastAPI Users 15.0.5's `PasswordHelper().hash("guinevere")` (pwdlib 0.3.0,
    /// argon2-cffi 25.1.0).
    const REFERENCE_ARGON2: &str = "$argon2id$v=19$m=65536,t=3,p=4$UKD8NkImbB4z2+aKzBWPqA$HQHNt+ww72uogvisk9A8T25ZZB/WmwIgyCg3MxWTw4k";
    /// Made by Python bcrypt 5.0.0: `bcrypt.hashpw(b"guinevere", bcrypt.gensalt(12))`.
    const REFERENCE_BCRYPT: &str = "$2b$12$fQuaytHpDUDfN6wHawL.ueGOk1dQ/BDq0f5umWL9jU.59Zzg3rP4W";

    #[test]
    fn verifies_a_reference_argon2_hash_without_rehash() {
        let h = Argon2Hasher::default();
        let v = h.verify_and_update("guinevere", REFERENCE_ARGON2).unwrap();
        assert_eq!(
            v,
            Verified {
                valid: true,
                new_hash: None
            }
        );
        assert!(
            !h.verify_and_update("lancelot", REFERENCE_ARGON2)
                .unwrap()
                .valid
        );
    }

    #[test]
    fn verifies_bcrypt_and_asks_for_argon2id() {
        let h = Argon2Hasher::new(Argon2Params::insecure_fast());
        let v = h.verify_and_update("guinevere", REFERENCE_BCRYPT).unwrap();
        assert!(v.valid);
        let new = v.new_hash.unwrap();
        assert!(new.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{new}");
        assert!(
            h.verify_and_update("guinevere", &new)
                .unwrap()
                .new_hash
                .is_none()
        );
        let wrong = h.verify_and_update("merlin", REFERENCE_BCRYPT).unwrap();
        assert_eq!(
            wrong,
            Verified {
                valid: false,
                new_hash: None
            }
        );
    }

    #[test]
    fn our_hash_has_the_reference_shape() {
        let h = Argon2Hasher::default();
        let hash = h.hash("guinevere").unwrap();
        let parts: Vec<&str> = hash.split('$').collect();
        assert_eq!(parts[1..4], ["argon2id", "v=19", "m=65536,t=3,p=4"]);
        assert_eq!(parts[4].len(), 22, "16-byte salt, unpadded base64");
        assert_eq!(parts[5].len(), 43, "32-byte hash, unpadded base64");
    }

    #[test]
    fn other_parameters_ask_for_a_rehash() {
        let fast = Argon2Hasher::new(Argon2Params::insecure_fast());
        let hash = fast.hash("pw").unwrap();
        let other = Argon2Hasher::new(Argon2Params {
            m_cost: 128,
            ..Argon2Params::insecure_fast()
        });
        let v = other.verify_and_update("pw", &hash).unwrap();
        assert!(v.valid && v.new_hash.is_some());
    }

    #[test]
    fn garbage_and_oversized_hashes_are_unknown() {
        let h = Argon2Hasher::new(Argon2Params::insecure_fast());
        for bad in [
            "",
            "plaintext",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA",
            "$argon2id$v=19$m=99999999,t=3,p=4$3ugcFcYDmpRTyk3xNUKWzw$Xl7/H5+QavkTD4ggF26/jjnP8qvwpbjPMq3PZ36g9EI",
            "$argon2id$v=19$m=65536,t=3,p=4$!!!$Xl7",
            "$2b$31$V/m.LUObEGlvaa6j2NFH0eRdVE5uO6fqeWiuLwEM3u9C62yg/AoTW",
            "$2b$12$short",
            "$pbkdf2-sha256$29000$abc$def",
        ] {
            assert!(
                matches!(h.verify_and_update("pw", bad), Err(HashError::UnknownHash)),
                "{bad}"
            );
        }
    }
}
