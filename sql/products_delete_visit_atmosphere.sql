-- products_delete_visit_atmosphere: removes the rows of visit_atmosphere written for tract $tract (NULL = the whole-database
-- tract) by earlier calibrate-tract runs, so that a new run replaces them.
DELETE FROM visit_atmosphere
WHERE tract IS NOT DISTINCT FROM $tract
