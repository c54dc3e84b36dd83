-- metadata_get: the JSON value stored under $key (no row when absent).
SELECT value FROM metadata WHERE key = $key
