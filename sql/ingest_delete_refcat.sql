-- ingest_delete_refcat: empties `refcat` before a reference catalog is (re)loaded; one per database.
DELETE FROM refcat
