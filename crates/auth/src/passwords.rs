//! Password hashing with argon2id, kept off the async runtime.
//!
//! A hash costs tens of milliseconds of CPU and 19 MiB of memory by design. Each one runs on a
//! blocking thread, and a semaphore bounds how many run at once, so a login storm queues for
//! hashing instead of starving every other request (or the memory) of the process. Logins for
//! unknown users verify against a dummy hash computed once, so they cost the same time as a
//! wrong password and the answer's timing does not reveal which usernames exist.

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

/// OWASP's minimum for argon2id: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// A PHC-format hash as stored. `Debug` hides it: hashes never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash(String);

impl StoredHash {
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredHash(<redacted>)")
    }
}

/// Hashes and verifies passwords with bounded concurrency.
pub struct Passwords {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, to spend the same time.
    dummy: StoredHash,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// At most `concurrency` hashes run at once; computes the dummy hash before returning.
    pub async fn new(concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|error| anyhow::anyhow!("invalid argon2 parameters: {error}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut passwords = Self {
            argon2,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: StoredHash::new(String::new()),
        };
        let mut throwaway = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut throwaway)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let throwaway = Password::parse(crate::tokens::base64url(&throwaway))?;
        passwords.dummy = passwords.hash(&throwaway).await?;
        Ok(passwords)
    }

    /// Hashes a new password with a fresh random salt.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<StoredHash> {
        let mut salt = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let password = password.expose().to_owned();
        let argon2 = self.argon2.clone();
        self.run(move || {
            let salt = SaltString::encode_b64(&salt)
                .map_err(|error| anyhow::anyhow!("cannot encode the salt: {error}"))?;
            let hash = argon2
                .hash_password(password.as_bytes(), &salt)
                .map_err(|error| anyhow::anyhow!("hashing failed: {error}"))?;
            Ok(StoredHash::new(hash.to_string()))
        })
        .await
    }

    /// Whether `password` matches `hash`. With no hash (unknown user) it checks the dummy hash
    /// and answers `false`, taking as long as a real check.
    pub async fn verify(&self, password: &str, hash: Option<&StoredHash>) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let phc = hash.unwrap_or(&self.dummy).expose().to_owned();
        let password = password.to_owned();
        let argon2 = self.argon2.clone();
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&phc).map_err(|error| {
                    anyhow::anyhow!("a stored password hash is unreadable: {error}")
                })?;
                match argon2.verify_password(password.as_bytes(), &parsed) {
                    Ok(()) => Ok(true),
                    Err(argon2::password_hash::Error::Password) => Ok(false),
                    Err(error) => Err(anyhow::anyhow!("verifying a password failed: {error}")),
                }
            })
            .await?;
        Ok(known && matches)
    }

    /// Runs CPU-heavy work on a blocking thread once a permit is free. The permit moves into
    /// the work, so a cancelled request still counts until its hash is done.
    async fn run<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> anyhow::Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .context("the hashing semaphore is closed")?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .context("a hashing task panicked")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::new(2).await.unwrap();
        let password = Password::parse("correct horse battery").unwrap();
        let hash = passwords.hash(&password).await.unwrap();
        assert!(hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let passwords = Passwords::new(1).await.unwrap();
        assert!(!passwords.verify("anything at all", None).await.unwrap());
    }

    #[test]
    fn debug_output_hides_the_hash() {
        let hash = StoredHash::new("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }
}
