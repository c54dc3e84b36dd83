-- products_lut_source: the site and atmosphere model the look-up table was built with (one row), from
-- lut_meta.
SELECT
    site,
    atmosphere_source
FROM lut_meta
LIMIT 1
