-- ingest_delete_detectors: empties `detectors` before a camera is (re)loaded; the camera is one per
-- database.
DELETE FROM detectors
