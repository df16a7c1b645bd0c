//! Every service's `platform::migrations![..]` list names exactly the files of its migration
//! folders, so a new migration cannot be left out of the binary.

#[tokio::test]
async fn every_service_embeds_every_file_of_its_migration_folders() {
    let services = [
        ("agenda", agenda::storage::MIGRATIONS),
        ("auth", auth::storage::MIGRATIONS),
        ("cars", cars::storage::MIGRATIONS),
        ("hits", hits::storage::MIGRATIONS),
        ("notifier", notifier::storage::MIGRATIONS),
        ("orders", orders::storage::MIGRATIONS),
        ("payments", payments::storage::MIGRATIONS),
        ("products", products::storage::MIGRATIONS),
        ("users", users::storage::MIGRATIONS),
    ];
    for (service, migrations) in services {
        assert!(
            migrations.crate_dir.ends_with(&format!("crates/{service}")),
            "{service}: {}",
            migrations.crate_dir
        );
        assert!(!migrations.sqlite.is_empty(), "{service}");
        if let Err(error) = migrations.check_folders().await {
            panic!("{service}: {error:#}");
        }
    }
}
