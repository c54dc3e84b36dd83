-- metadata_all: every `metadata` entry as (key, JSON text), by key.
SELECT key, CAST(value AS VARCHAR) AS value FROM metadata ORDER BY key
