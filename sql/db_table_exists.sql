-- db_table_exists: 1 when a base table or view named $table exists in the database, else 0.
SELECT count(*) FROM information_schema.tables WHERE table_name = $table
