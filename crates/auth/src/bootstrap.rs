//! The first administrator.
//!
//! There is no default password anywhere (DESIGN §3). On a first embedded start the `admin`
//! account gets a random password written to `<data dir>/admin-password`, readable by the owner
//! only, and the log says where the file is, never what is in it. A distributed deployment has
//! no local file anyone would read, so it must be given the password through configuration, and
//! refuses to start without one while no admin exists.

use std::path::PathBuf;

use platform::{Role, ServiceEnv};

use crate::config::Config;
use crate::domain::{Password, PersonalDetails, Username};
use crate::error::AuthError;
use crate::passwords::Passwords;
use crate::storage::Storage;
use crate::tokens::base64url;

pub const ADMIN_USERNAME: &str = "admin";

/// Name of the generated password's file inside the data directory.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// Where a first embedded start writes the admin password.
pub fn admin_password_path(env: &ServiceEnv) -> PathBuf {
    env.data_dir.join(ADMIN_PASSWORD_FILE)
}

/// Creates the `admin` account unless it exists.
pub async fn ensure_admin(
    storage: &Storage,
    passwords: &Passwords,
    config: &Config,
    env: &ServiceEnv,
) -> anyhow::Result<()> {
    let username = Username::parse(ADMIN_USERNAME)?;
    if storage.username_exists(&username.key()).await? {
        return Ok(());
    }
    let (password, file) = match (&config.admin_password, env.embedded) {
        (Some(secret), _) => {
            let password = Password::parse(secret.expose()).map_err(|error| {
                anyhow::anyhow!(
                    "MICROSHOP_AUTH_ADMIN_PASSWORD is not an acceptable password: {}",
                    error.message
                )
            })?;
            (password, None)
        }
        (None, true) => {
            let password = random_password()?;
            let path = admin_password_path(env);
            platform::files::write_secret(&path, password.expose())?;
            (password, Some(path))
        }
        (None, false) => anyhow::bail!(
            "no admin account exists and no admin password is configured: set \
             MICROSHOP_AUTH_ADMIN_PASSWORD (or --auth-admin-password) for the first start"
        ),
    };
    let hash = passwords.hash(&password).await?;
    match storage
        .create_account(&username, &hash, Role::Admin, &PersonalDetails::default())
        .await
    {
        Ok(account) => match file {
            Some(path) => tracing::info!(
                user_id = %account.id,
                password_file = %path.display(),
                "created the admin account; its password is in the file"
            ),
            None => tracing::info!(
                user_id = %account.id,
                "created the admin account with the configured password"
            ),
        },
        // Another process created it between our check and our insert: theirs stands.
        Err(AuthError::UsernameTaken) => {}
        Err(error) => return Err(anyhow::anyhow!(error).context("creating the admin account")),
    }
    Ok(())
}

/// 144 random bits as 24 base64url characters.
fn random_password() -> anyhow::Result<Password> {
    let mut bytes = [0u8; 18];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(Password::parse(base64url(&bytes))?)
}
