//! Signing keys: the private halves stay here, the public halves are published as the JWKS.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Storage;

/// One Ed25519 signing key as stored.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    /// PKCS#8 DER, standard base64.
    pub private_key: String,
    /// Raw public key, base64url without padding.
    pub public_key: String,
    pub created_at: i64,
    pub superseded_at: Option<i64>,
}

/// Never print private key material, even in a debug dump.
impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("superseded_at", &self.superseded_at)
            .finish_non_exhaustive()
    }
}

fn key_from_row(row: &AnyRow) -> Result<StoredKey, sqlx::Error> {
    Ok(StoredKey {
        kid: row.try_get("kid")?,
        private_key: row.try_get("private_key")?,
        public_key: row.try_get("public_key")?,
        created_at: row.try_get("created_at")?,
        superseded_at: row.try_get("superseded_at")?,
    })
}

impl Storage {
    /// The key new tokens are signed with: the newest one not superseded.
    pub async fn signing_key(&self) -> Result<Option<StoredKey>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT kid, private_key, public_key, created_at, superseded_at FROM signing_keys \
             WHERE superseded_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Keys whose tokens may still be in use: the current ones and those superseded after
    /// `superseded_after` (unix ms).
    pub async fn published_keys(
        &self,
        superseded_after: i64,
    ) -> Result<Vec<StoredKey>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key, created_at, superseded_at FROM signing_keys \
             WHERE superseded_at IS NULL OR superseded_at > $1 ORDER BY created_at DESC, kid DESC",
        )
        .bind(superseded_after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Adds `key` as the signing key. With `supersede`, every other current key is retired from
    /// signing in the same transaction (a rotation); without, the key is added only if there is
    /// no current key (first start), and `false` says another process got there first.
    pub async fn add_signing_key(
        &self,
        key: &StoredKey,
        supersede: bool,
    ) -> Result<bool, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        if supersede {
            sqlx::query("UPDATE signing_keys SET superseded_at = $1 WHERE superseded_at IS NULL")
                .bind(key.created_at)
                .execute(&mut *transaction)
                .await?;
        }
        let result = sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at) \
             SELECT $1, $2, $3, $4 \
             WHERE $5 = 1 OR NOT EXISTS (SELECT 1 FROM signing_keys WHERE superseded_at IS NULL)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(key.created_at)
        .bind(i32::from(supersede))
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    /// Deletes keys superseded at or before `superseded_until` (unix ms): no live token was
    /// signed with them, so neither half is needed any more.
    pub async fn delete_retired_keys(&self, superseded_until: i64) -> Result<u64, sqlx::Error> {
        let result = sqlx::query(
            "DELETE FROM signing_keys WHERE superseded_at IS NOT NULL AND superseded_at <= $1",
        )
        .bind(superseded_until)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}
