//! A service's schema: its migration files, embedded in the binary, named in one list.
//!
//! Each service keeps `migrations/sqlite/` and `migrations/postgres/`, with the same file names
//! in both, and names them once: `platform::migrations!["0001_orders", "0002_…"]` embeds both
//! folders' files with `include_str!`. sqlx's `migrate!` would read the folders by itself, but it
//! is a procedural macro whose crate compiles sqlx's SQLite and PostgreSQL drivers (and SQLite's
//! C source) a second time, for the compiler: a sixth of a clean release build. The list costs
//! one line per migration, and [`Migrations::check_folders`] (run by the workspace's tests for
//! every service) fails when a file is missing from it or it names a file that is not there.
//!
//! The migrations built here are the ones sqlx builds from the folders: version and description
//! from the file name, the SHA-384 checksum of the text, `-- no-transaction` honoured. So a
//! database migrated by a binary that used `migrate!` is recognised as up to date.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Context;
use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Engine;

/// One embedded migration file: its name without `.sql` (`0002_outbox`) and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationFile {
    pub name: &'static str,
    pub sql: &'static str,
}

/// A service's migrations for each engine; made by [`crate::migrations!`].
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static [MigrationFile],
    pub postgres: &'static [MigrationFile],
    /// The crate the files come from (its `CARGO_MANIFEST_DIR` at build time), for
    /// [`Migrations::check_folders`].
    pub crate_dir: &'static str,
}

/// The [`Migrations`] of the calling crate, from the file names (without `.sql`) of its
/// `migrations/sqlite` and `migrations/postgres` folders, embedded at compile time:
///
/// ```text
/// pub const MIGRATIONS: platform::db::Migrations =
///     platform::migrations!["0001_users", "0002_outbox"];
/// ```
#[macro_export]
macro_rules! migrations {
    ($($name:literal),* $(,)?) => {
        $crate::db::Migrations {
            sqlite: &[$($crate::db::MigrationFile {
                name: $name,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/", $name, ".sql")),
            }),*],
            postgres: &[$($crate::db::MigrationFile {
                name: $name,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres/", $name, ".sql")),
            }),*],
            crate_dir: env!("CARGO_MANIFEST_DIR"),
        }
    };
}

impl Migrations {
    /// No migrations at all, for tests that create their tables themselves.
    pub const NONE: Migrations = Migrations {
        sqlite: &[],
        postgres: &[],
        crate_dir: "",
    };

    /// The migrator of `engine`'s files.
    pub fn migrator(&self, engine: Engine) -> anyhow::Result<Migrator> {
        let files = match engine {
            Engine::Sqlite => self.sqlite,
            Engine::Postgres => self.postgres,
        };
        let migrations = files
            .iter()
            .map(|file| migration(file.name, file.sql))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Migrator::with_migrations(migrations))
    }

    /// Whether the list names exactly the files of the crate's migration folders, and builds
    /// the migrations sqlx itself builds from them (same versions, descriptions, checksums).
    pub async fn check_folders(&self) -> anyhow::Result<()> {
        for (engine, folder) in [(Engine::Sqlite, "sqlite"), (Engine::Postgres, "postgres")] {
            let path = Path::new(self.crate_dir).join("migrations").join(folder);
            let from_folder = Migrator::new(path.as_path())
                .await
                .with_context(|| format!("reading {}", path.display()))?;
            let listed = self.migrator(engine)?;
            let describe = |migrator: &Migrator| {
                migrator
                    .iter()
                    .map(|m| {
                        (
                            m.version,
                            m.description.to_string(),
                            m.migration_type,
                            m.checksum.to_vec(),
                            m.no_tx,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            let (expected, actual) = (describe(&from_folder), describe(&listed));
            if expected != actual {
                let names = |list: &[(i64, String, MigrationType, Vec<u8>, bool)]| {
                    list.iter()
                        .map(|(version, description, ..)| format!("{version:04} {description}"))
                        .collect::<Vec<_>>()
                };
                anyhow::bail!(
                    "platform::migrations![..] does not match {}: the folder has {:?}, the list {:?}",
                    path.display(),
                    names(&expected),
                    names(&actual)
                );
            }
        }
        Ok(())
    }
}

/// The migration sqlx makes of the file `<name>.sql` holding `sql`.
fn migration(name: &'static str, sql: &'static str) -> anyhow::Result<Migration> {
    let file_name = format!("{name}.sql");
    let (version, rest) = file_name
        .split_once('_')
        .with_context(|| format!("migration {name}: expected <version>_<description>"))?;
    let version: i64 = version
        .parse()
        .with_context(|| format!("migration {name}: the version is not an integer"))?;
    let migration_type = MigrationType::from_filename(rest);
    let description = rest
        .trim_end_matches(migration_type.suffix())
        .replace('_', " ");
    Ok(Migration::new(
        version,
        Cow::Owned(description),
        migration_type,
        SqlStr::from_static(sql),
        sql.starts_with("-- no-transaction"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_version_and_description_as_sqlx_reads_them() {
        let throttle = migration("0003_registration_throttle", "SELECT 1;").unwrap();
        assert_eq!(throttle.version, 3);
        assert_eq!(throttle.description, "registration throttle");
        assert_eq!(throttle.migration_type, MigrationType::Simple);
        assert!(!throttle.no_tx);
        assert!(
            migration("0004_index", "-- no-transaction\nCREATE INDEX;")
                .unwrap()
                .no_tx
        );
        assert!(migration("outbox", "").is_err());
        assert!(migration("v1_outbox", "").is_err());
    }

    #[tokio::test]
    async fn a_list_that_misses_a_file_or_names_a_missing_one_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        for engine in ["sqlite", "postgres"] {
            let folder = dir.path().join("migrations").join(engine);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("0001_first.sql"), "CREATE TABLE a (x INT);").unwrap();
            std::fs::write(folder.join("0002_second.sql"), "CREATE TABLE b (x INT);").unwrap();
        }
        let crate_dir: &'static str = Box::leak(dir.path().display().to_string().into_boxed_str());
        const FIRST: MigrationFile = MigrationFile {
            name: "0001_first",
            sql: "CREATE TABLE a (x INT);",
        };
        const SECOND: MigrationFile = MigrationFile {
            name: "0002_second",
            sql: "CREATE TABLE b (x INT);",
        };
        let complete = Migrations {
            sqlite: &[FIRST, SECOND],
            postgres: &[FIRST, SECOND],
            crate_dir,
        };
        complete.check_folders().await.unwrap();

        let missing = Migrations {
            sqlite: &[FIRST],
            ..complete
        };
        let error = missing.check_folders().await.unwrap_err().to_string();
        assert!(error.contains("0002 second"), "{error}");

        let edited = Migrations {
            postgres: &[
                FIRST,
                MigrationFile {
                    sql: "CREATE TABLE b (y INT);",
                    ..SECOND
                },
            ],
            ..complete
        };
        assert!(edited.check_folders().await.is_err());

        let extra = Migrations {
            sqlite: &[
                FIRST,
                SECOND,
                MigrationFile {
                    name: "0003_third",
                    sql: "",
                },
            ],
            ..complete
        };
        assert!(extra.check_folders().await.is_err());
    }
}
