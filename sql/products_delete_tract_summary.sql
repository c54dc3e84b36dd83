-- products_delete_tract_summary: removes the rows of tract_summary written for tract $tract (NULL = the whole-database
-- tract) by earlier calibrate-tract runs, so that a new run replaces them.
DELETE FROM tract_summary
WHERE tract IS NOT DISTINCT FROM $tract
