-- products_delete_transmission: removes the rows of transmission written for tract $tract (NULL = the whole-database
-- tract) by earlier calibrate-tract runs, so that a new run replaces them.
DELETE FROM transmission
WHERE tract IS NOT DISTINCT FROM $tract
