-- metadata_insert: one `metadata` entry: a JSON value under $key.
INSERT INTO metadata (key, value, updated) VALUES ($key, $value, now())
