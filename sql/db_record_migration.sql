-- db_record_migration: records one applied migration in `schema_migrations`.
INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($version, $name, now(), $checksum)
