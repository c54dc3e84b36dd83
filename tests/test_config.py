"""The typed configuration: TOML overrides, unknown keys and wrong types fail with the key named."""

from __future__ import annotations

import numpy as np
import pytest

from fgcm_db.config import Config, load_config
from fgcm_db.errors import FgcmDbError


def test_defaults_load_and_validate():
    config = load_config()
    assert isinstance(config, Config)
    assert set(config.to_dict()) == {"ingest", "lut", "stars", "fit", "tract", "exposure", "simulate"}


def test_unknown_section_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[nonsense]\na = 1\n")
    with pytest.raises(FgcmDbError, match="nonsense"):
        load_config(path)


def test_unknown_key_in_a_section_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[fit]\nno_such_key = 1\n")
    with pytest.raises(FgcmDbError, match="no_such_key"):
        load_config(path)


def test_missing_and_invalid_files_are_named(tmp_path):
    with pytest.raises(FgcmDbError, match="does not exist"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[fit\n")
    with pytest.raises(FgcmDbError, match="not valid TOML"):
        load_config(bad)


def test_sed_coefficients_take_one_per_term_and_an_optional_constant():
    """A constant after the terms' coefficients is the rule's intercept (1/nm); more is an error."""
    from fgcm_db.fit.sed import sed_slopes

    terms = {"r": ["g-r", "r-i"]}
    load_config(overrides={"fit": {"sed_terms": terms, "sed_coefficients": {"r": [0.5, 0.5]}}})
    load_config(overrides={"fit": {"sed_terms": terms, "sed_coefficients": {"r": [0.5, 0.5, 0.001]}}})
    with pytest.raises(FgcmDbError, match="sed_coefficients"):
        load_config(overrides={"fit": {"sed_terms": terms, "sed_coefficients": {"r": [0.5, 0.5, 0.1, 0.1]}}})
    mags = [[20.0, 20.0, 20.0]]  # flat f_nu: every boundary term 0, so F' is the constant
    lam = {"g": 480.0, "r": 620.0, "i": 770.0}
    assert sed_slopes(np.array(mags), ["g", "r", "i"], lam, terms,
                      {"r": [0.5, 0.5, 0.001]})[0, 1] == pytest.approx(0.001)
