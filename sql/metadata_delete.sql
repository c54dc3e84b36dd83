-- metadata_delete: removes the `metadata` entry $key (before it is written anew).
DELETE FROM metadata WHERE key = $key
