-- products_delete_absolute_calibration: removes the rows of absolute_calibration written for tract $tract (NULL = the whole-database
-- tract) by earlier calibrate-tract runs, so that a new run replaces them.
DELETE FROM absolute_calibration
WHERE tract IS NOT DISTINCT FROM $tract
