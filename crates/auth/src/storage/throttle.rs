//! Failed logins per (username, client IP) and registrations per client IP, in the database so
//! every auth process agrees.

use sqlx::Row;
use uuid::Uuid;

use super::Storage;

impl Storage {
    /// The times (unix ms, newest first) of at most `limit` failures after `since`.
    pub async fn recent_failures(
        &self,
        username_lower: &str,
        client_ip: &str,
        since: i64,
        limit: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT failed_at FROM login_failures \
             WHERE username_lower = $1 AND client_ip = $2 AND failed_at > $3 \
             ORDER BY failed_at DESC LIMIT $4",
        )
        .bind(username_lower)
        .bind(client_ip)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.try_get("failed_at")).collect()
    }

    /// Records one failure and forgets failures older than `forget_before`.
    pub async fn record_failure(
        &self,
        username_lower: &str,
        client_ip: &str,
        at: i64,
        forget_before: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO login_failures (id, username_lower, client_ip, failed_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(username_lower)
        .bind(client_ip)
        .bind(at)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
            .bind(forget_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the failures of a (username, IP) after a successful login.
    pub async fn clear_failures(
        &self,
        username_lower: &str,
        client_ip: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE username_lower = $1 AND client_ip = $2")
            .bind(username_lower)
            .bind(client_ip)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The times (unix ms, oldest first) of the last `limit` registrations from `client_ip`
    /// after `since`.
    pub async fn recent_registrations(
        &self,
        client_ip: &str,
        since: i64,
        limit: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT attempted_at FROM registration_attempts \
             WHERE client_ip = $1 AND attempted_at > $2 \
             ORDER BY attempted_at DESC LIMIT $3",
        )
        .bind(client_ip)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut times = rows
            .iter()
            .map(|row| row.try_get("attempted_at"))
            .collect::<Result<Vec<i64>, _>>()?;
        times.reverse();
        Ok(times)
    }

    /// Records one registration attempt and forgets those older than `forget_before`.
    pub async fn record_registration(
        &self,
        client_ip: &str,
        at: i64,
        forget_before: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO registration_attempts (id, client_ip, attempted_at) VALUES ($1, $2, $3)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(client_ip)
        .bind(at)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM registration_attempts WHERE attempted_at < $1")
            .bind(forget_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
