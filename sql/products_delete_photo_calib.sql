-- products_delete_photo_calib: removes the rows of photo_calib written for tract $tract (NULL = the whole-database
-- tract) by earlier calibrate-tract runs, so that a new run replaces them.
DELETE FROM photo_calib
WHERE tract IS NOT DISTINCT FROM $tract
