-- db_applied_migrations: the applied schema migrations, one row per version, with their checksums.
SELECT version, checksum FROM schema_migrations ORDER BY version
