-- products_delete_std_stars: removes the rows of std_stars written for tract $tract (NULL = the whole-database
-- tract) by earlier calibrate-tract runs, so that a new run replaces them.
DELETE FROM std_stars
WHERE tract IS NOT DISTINCT FROM $tract
