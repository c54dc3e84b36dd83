"""Shared positional astronomy and camera geometry against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from fgcm_db import astro
from fgcm_db.camera import hsc_like_camera, load_camera, write_camera_yaml
from fgcm_db.errors import FgcmDbError


def test_hour_angle_matches_astropy_mean_sidereal_time_to_0p01_deg():
    mjd_tai = np.array([57000.3, 58500.55, 59999.1])
    lon = -155.4761
    t = Time(mjd_tai, format="mjd", scale="tai")
    lst = t.sidereal_time("mean", longitude=lon * u.deg).deg
    expected = astro.wrap_180(lst - 150.0)
    got = astro.hour_angle_deg(mjd_tai, 150.0, lon)
    assert np.max(np.abs(astro.wrap_180(got - expected))) < 0.01


def test_secant_zenith_is_one_at_zenith_and_two_at_60_deg():
    assert astro.secant_zenith(0.0, 19.8, 19.8) == pytest.approx(1.0)
    assert astro.secant_zenith(0.0, 19.8 - 60.0, 19.8) == pytest.approx(2.0)


def test_tangent_plane_round_trip_across_ra_zero():
    ra = np.array([359.9, 0.05, 0.3])
    dec = np.array([-0.2, 0.1, 0.4])
    xi, eta = astro.sky_to_tangent_plane(ra, dec, 0.0, 0.0)
    ra2, dec2 = astro.tangent_plane_to_sky(xi, eta, 0.0, 0.0)
    assert np.max(astro.angular_separation_deg(ra, dec, ra2, dec2)) < 1e-10


def test_separation_agrees_with_astropy():
    a = SkyCoord(10.0 * u.deg, 20.0 * u.deg)
    b = SkyCoord(10.0003 * u.deg, 19.9998 * u.deg)
    assert astro.angular_separation_deg(10.0, 20.0, 10.0003, 19.9998) == pytest.approx(a.separation(b).deg, rel=1e-9)


def test_hsc_like_camera_has_104_detectors_centred_within_0p85_deg():
    cam = hsc_like_camera()
    assert len(cam) == 104
    assert cam.radius_mm().max() * cam.plate_scale_arcsec_per_mm / 3600 < 0.85
    det, x, y = cam.locate(cam.fp_x, cam.fp_y)
    assert np.array_equal(det, cam.detector)
    assert np.allclose(x, 1023.5) and np.allclose(y, 2087.5)


def test_camera_yaml_round_trip_and_bad_files(tmp_path):
    cam = hsc_like_camera(max_radius_mm=100)
    path = tmp_path / "camera.yaml"
    write_camera_yaml(cam, path)
    back = load_camera(path)
    assert np.array_equal(back.detector, cam.detector) and np.allclose(back.fp_x, cam.fp_x)
    bad = tmp_path / "bad.yaml"
    bad.write_text("detectors:\n  - {detector: 1, x_size: 10}\n")
    with pytest.raises(FgcmDbError, match="y_size"):
        load_camera(bad)
    with pytest.raises(FgcmDbError, match="does not exist"):
        load_camera(tmp_path / "absent.yaml")
