"""``fgcm-db simulate``: a simulated survey tract with known truth, written as the CONTRACT.md inputs.

Spectra (a built-in stellar model or a Pickles-format library) are integrated through each
observation's own passband, the true per-detector instrument x the visit's atmosphere at the star's
airmass x gray clouds (never through the fit's linearised model); see :mod:`fgcm_db.simulation` for
the parts. Every random draw comes from a named stream seeded by ``(seed, name)``, so a seed gives
identical files.

Output directory::

    sources/visit_<visit>.parquet   one source table per visit
    visit_summary.parquet           one row per (visit, detector)
    camera.yaml                     detector geometry
    refcat.parquet                  PS1-like reference catalogue (ra, dec, {band}_flux, {band}_fluxErr, nJy)
    truth/photo_calib.parquet       per (visit, detector): calib_mean, zp_mag, gray_mag, photometric, ...
    truth/stars.parquet             per object: kind, ra, dec, mag_std_{band}, colour g-i, variability
    truth/visits.parquet            per visit: pwv, o3, tau, alpha, pressure, airmass, cloud, photometric
    truth/observations.parquet      per detected object source: object_id, airmass, true counts
    truth/instrument.parquet        per (filter, detector): edge shift, QE scale
    truth/refcat.parquet            object_id of each reference-catalogue row
    truth/simulation.json           seed, preset, site, constants
"""

from __future__ import annotations

import dataclasses
import logging
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import photometry
from .atmosphere import load_atmosphere
from .camera import Camera, hsc_like_camera, write_camera_yaml
from .config import load_config
from .configs.simulate import SimulateConfig
from .errors import FgcmDbError
from .progress import say, status, track
from .simulation import writer
from .simulation.instrument import make_instrument
from .simulation.integrate import quadrature_weights, support
from .simulation.measure import FWHM_PER_SIGMA
from .simulation.objects import builtin_colour_of_teff, make_objects
from .simulation.observe import Scene, observe_visit
from .simulation.presets import Preset, get_preset
from .simulation.refcat import make_refcat
from .simulation.seds import TemplateSet, builtin_templates, library_templates
from .simulation.survey import DetectorLocator, build_survey, field_of_view_radius_deg
from .simulation.truth import calibration, flux_ratios, standard_magnitudes, standard_passbands
from .simulation.weather import make_weather
from .sites import get_site
from .throughput import default_throughput, load_throughput

log = logging.getLogger(__name__)

KIND_NAMES = np.array(["star", "galaxy", "companion"])


def stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    """The random stream called ``name`` (optionally sub-keyed) for ``seed``."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), *[int(k) for k in keys]])


@dataclasses.dataclass
class Simulation:
    """A simulated survey in memory, before writing.

    Attributes
    ----------
    scene : everything a visit needs (:class:`fgcm_db.simulation.observe.Scene`).
    preset : the survey size; config : the [simulate] settings; seed : int.
    templates : the colour-ordered spectra (f_nu normalised: AB mag 0 in the reference standard passband).
    std_passbands : physical_filter -> (L,) standard passband; std_ratios : (T, B) template flux ratios
    through the simulated filters' standard passbands (B in ``filters`` order).
    filters : simulated physical filters, in band order; bands : their bands.
    colour_filters : the (blue, red) filters whose standard colour orders the templates (HSC-G, HSC-I);
    colour_column : its truth column, ``color_<blue band><red band>`` (``color_gi``).
    atmosphere_name : where the atmosphere came from.
    """

    scene: Scene
    preset: Preset
    config: SimulateConfig
    seed: int
    templates: TemplateSet
    std_passbands: dict
    std_ratios: np.ndarray
    filters: list
    bands: list
    colour_filters: list
    colour_column: str
    atmosphere_name: str


def _filter_for_band(throughput, band: str) -> str:
    for f in throughput.physical_filters:
        if throughput.band(f) == band:
            return f
    raise FgcmDbError(f"the throughput has no physical filter for band {band!r}; it has "
                      f"{', '.join(throughput.physical_filters)}")


def _effective_preset(preset: Preset, cfg: SimulateConfig) -> Preset:
    changes = {}
    if cfg.bands:
        changes["bands"] = tuple(cfg.bands)
    if cfg.n_visits is not None:
        changes["n_visits"] = cfg.n_visits
    if cfg.n_nights is not None:
        changes["n_nights"] = cfg.n_nights
    if cfg.star_density is not None:
        changes["star_density"] = cfg.star_density
    out = dataclasses.replace(preset, **changes)
    if out.n_nights > out.span_days:
        raise FgcmDbError(f"[simulate] n_nights = {out.n_nights} exceeds the preset's span of {out.span_days} days")
    return out


def build_simulation(preset: str = "small", seed: int = 1, atmosphere: str | Path | None = None,
                     sed_library: str | Path | None = None, config: SimulateConfig | None = None,
                     camera: Camera | None = None) -> Simulation:
    """Draw a whole survey (no files written).

    Parameters
    ----------
    preset : tiny, small or tract; seed : random seed; atmosphere : FGCM atmosphere table (None: the
    built-in model); sed_library : directory of Pickles-format spectra (None: the built-in model);
    config : [simulate] settings (None: defaults); camera : None = the HSC-like camera cut to the preset.
    """
    cfg = config or SimulateConfig()
    pre = _effective_preset(get_preset(preset), cfg)
    site = get_site(cfg.site)
    cam = camera or hsc_like_camera(pre.max_radius_mm)
    atm = load_atmosphere(atmosphere, site)
    tp = default_throughput() if cfg.throughput is None else load_throughput(cfg.throughput, cam)
    filters = [_filter_for_band(tp, b) for b in pre.bands]
    colour_filters = [_filter_for_band(tp, b) for b in ("g", "i")] if all(
        any(tp.band(f) == b for f in tp.physical_filters) for b in ("g", "i")) else [filters[0], filters[-1]]
    if cfg.reference_filter not in tp.physical_filters:
        raise FgcmDbError(f"[simulate] reference_filter {cfg.reference_filter!r} is not in the throughput "
                          f"({', '.join(tp.physical_filters)})")
    needed = list(dict.fromkeys(filters + colour_filters + [cfg.reference_filter]))
    lam = tp.wavelength_nm
    std = standard_passbands(atm, tp, needed, site)

    # templates: normalised to AB 0 through the reference standard passband, ordered by colour
    templates = builtin_templates(lam, cfg.n_templates) if sed_library is None else library_templates(sed_library, lam)
    ref = flux_ratios(templates.fnu, std[cfg.reference_filter][None, :], lam)[:, 0]
    templates = TemplateSet(lam, templates.fnu / ref[:, None], templates.names, templates.teff)
    rc = flux_ratios(templates.fnu, np.stack([std[f] for f in colour_filters]), lam)
    colour = -2.5 * np.log10(rc[:, 0] / rc[:, 1])
    templates = templates.reordered(np.argsort(colour, kind="stable"))
    colour = np.sort(colour, kind="stable")
    colour_of_teff = builtin_colour_of_teff(lam, std[colour_filters[0]], std[colour_filters[1]])

    survey = build_survey(pre, site, cfg.field_ra, cfg.field_dec, cfg.start_mjd, cfg.max_hour_angle_deg,
                          stream(seed, "survey"))
    locator = DetectorLocator(cam)
    fov = field_of_view_radius_deg(cam)
    objects = make_objects(cfg.field_ra, cfg.field_dec, pre.dither_radius_deg + fov + 0.02, pre.star_density,
                           pre.galaxy_density, colour_of_teff, colour, stream(seed, "objects"),
                           variable_fraction=cfg.variable_fraction, blend_fraction=cfg.blend_fraction)
    weather = make_weather(survey, site, len(cam), stream(seed, "weather"), cfg.nonphotometric_fraction,
                           (cfg.gray_min_mag, cfg.gray_max_mag))
    instrument = make_instrument(tp, cam, filters, float(survey.night.min()), survey.wash_mjd,
                                 stream(seed, "instrument"), cfg.qe_rms, cfg.edge_shift_rms_nm,
                                 cfg.decline_mag_per_day)
    wq = quadrature_weights(lam)
    band_slice = {f: support(instrument.curves[f]) for f in filters}
    fnu_w = {f: np.ascontiguousarray(templates.fnu[:, band_slice[f]] * wq[band_slice[f]]) for f in filters}
    zp_ab = photometry.ab_zeropoint_no_throughput(site.mirror_area_m2, site.gain)
    sky_zp = {f: zp_ab + 2.5 * np.log10(np.sum(std[f] * wq)) for f in filters}
    phys = np.array([filters[pre.bands.index(b)] for b in survey.band], dtype=object)
    rng = stream(seed, "focal_plane")
    rr = np.hypot(cam.fp_x, cam.fp_y) / instrument.radius_mm
    fwhm_scale = (1.0 + 0.04 * rr**2)[None, :] * (1.0 + rng.normal(0.0, 0.01, (len(survey), len(cam))))
    scene = Scene(camera=cam, locator=locator, site=site, survey=survey, objects=objects, weather=weather,
                  instrument=instrument, atmosphere=atm, physical_filter=phys, fnu_w=fnu_w, band_slice=band_slice,
                  zp_ab=zp_ab, sky_zp=sky_zp, fwhm_scale=fwhm_scale, local_bg=np.zeros((len(survey), len(cam))),
                  noise=cfg.noise, floor_mag=cfg.floor_mag, n_sky_per_detector=cfg.n_sky_per_detector, seed=seed)
    if cfg.noise:
        sky = np.stack([scene.sky_counts(v) for v in range(len(survey))])
        scene.local_bg = rng.normal(0.0, cfg.local_background_rms, sky.shape) * sky
    std_ratios = flux_ratios(templates.fnu, np.stack([std[f] for f in filters]), lam)
    return Simulation(scene, pre, cfg, seed, templates, std, std_ratios, filters, list(pre.bands), colour_filters,
                      f"color_{tp.band(colour_filters[0])}{tp.band(colour_filters[1])}", atm.name)


def _visit_summary(scene: Scene) -> dict:
    s, cam, w = scene.survey, scene.camera, scene.weather
    nv, nd = len(s), len(cam)
    v = np.repeat(np.arange(nv), nd)
    d = np.tile(np.arange(nd), nv)
    fwhm = np.stack([scene.detector_fwhm_px(k) for k in range(nv)])
    sky = np.stack([scene.sky_counts(k) for k in range(nv)])
    return {
        "visit": s.visit[v], "detector": cam.detector[d], "band": s.band[v],
        "physical_filter": scene.physical_filter[v],
        "expMidptMJD": s.mjd[v], "expTime": s.exptime[v], "zenithDistance": s.zenith_distance[v],
        "boresightRa": s.ra[v], "boresightDec": s.dec[v], "boresightRotAngle": s.rotation[v],
        "pressure": w.pressure[v], "psfSigma": fwhm[v, d] / FWHM_PER_SIGMA, "skyBg": sky[v, d],
    }


def _truth_stars(sim: Simulation) -> dict:
    o = sim.scene.objects
    mags = standard_magnitudes(o, sim.std_ratios)
    out = {
        "object_id": o.object_id, "kind": KIND_NAMES[o.kind], "ra": o.ra, "dec": o.dec,
        "template": sim.templates.names[o.template], "template_next": sim.templates.names[
            np.minimum(o.template + 1, len(sim.templates) - 1)], "template_weight": o.weight,
        "teff": o.teff, "mag_ref": o.mag_ref, "size_arcsec": o.size_arcsec,
        "variable": o.var_amp > 0, "var_amp": o.var_amp, "var_period": o.var_period, "var_phase": o.var_phase,
        "companion_id": np.where(o.companion >= 0, o.object_id[np.maximum(o.companion, 0)], 0),
    }
    for k, b in enumerate(sim.bands):
        out[f"mag_std_{b}"] = mags[:, k]
    blue, red = sim.colour_filters
    ratios = flux_ratios(sim.templates.fnu, np.stack([sim.std_passbands[blue], sim.std_passbands[red]]),
                         sim.templates.wavelength_nm)
    colour = standard_magnitudes(o, ratios)
    out[sim.colour_column] = colour[:, 0] - colour[:, 1]
    return out


def write_simulation(sim: Simulation, out: str | Path, workers: int = 2) -> dict:
    """Write the CONTRACT.md inputs and the truth tables of ``sim`` into ``out``; returns counts.

    ``workers`` threads simulate visits concurrently (the output does not depend on it).
    """
    out = Path(out)
    scene = sim.scene
    (out / "sources").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    for old in (out / "sources").glob("visit_*.parquet"):
        old.unlink()

    def one_visit(v: int) -> tuple[int, dict]:
        sources, truth = observe_visit(scene, v, stream(sim.seed, "measure", v))
        return writer.write_sources(out / "sources" / f"visit_{scene.survey.visit[v]}.parquet", sources), truth

    # visits are independent (own random stream each); threads overlap numpy and parquet work, and
    # map() keeps the visit order, so the files do not depend on the number of workers
    n_sources = 0
    truth_obs = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n, truth in track(pool.map(one_visit, range(len(scene.survey))), "simulating visits",
                              total=len(scene.survey)):
            n_sources += n
            truth_obs.append(truth)
    n_star_obs = sum(int(np.sum(scene.objects.kind[t["object_id"] - 1] == 0)) for t in truth_obs)
    with status("writing visit summary, camera, refcat and truth"):
        writer.write_visit_summary(out / "visit_summary.parquet", _visit_summary(scene))
        write_camera_yaml(scene.camera, out / "camera.yaml")
        ref = make_refcat(scene.objects, sim.templates.fnu, sim.templates.wavelength_nm, stream(sim.seed, "refcat"),
                          scene.noise)
        ref_ids = ref.pop("object_id")
        writer.write_table(out / "refcat.parquet", ref)
        writer.write_table(out / "truth" / "refcat.parquet", {"row": np.arange(len(ref_ids)), "object_id": ref_ids})
        writer.write_table(out / "truth" / "photo_calib.parquet", calibration(scene))
        writer.write_table(out / "truth" / "stars.parquet", _truth_stars(sim))
        writer.write_table(out / "truth" / "observations.parquet",
                           {k: np.concatenate([t[k] for t in truth_obs]) for k in truth_obs[0]})
        s, w = scene.survey, scene.weather
        writer.write_table(out / "truth" / "visits.parquet", {
            "visit": s.visit, "band": s.band, "physical_filter": scene.physical_filter, "night": s.night,
            "mjd": s.mjd, "exptime": s.exptime, "hour_angle": s.hour_angle, "airmass": s.airmass,
            "pwv": w.pwv, "o3": w.o3, "tau": w.tau, "alpha": w.alpha, "pressure": w.pressure,
            "cloud_mag": w.cloud_mag, "cloud_gradient_xi": w.cloud_gradient[:, 0],
            "cloud_gradient_eta": w.cloud_gradient[:, 1], "photometric": w.photometric,
            "seeing_fwhm": s.seeing_fwhm, "sky_mag": s.sky_mag,
            "decline_mag": scene.instrument.decline_mag(s.mjd),
        })
        ins = scene.instrument
        fl = np.repeat(sim.filters, len(scene.camera))
        writer.write_table(out / "truth" / "instrument.parquet", {
            "physical_filter": fl, "detector": np.tile(scene.camera.detector, len(sim.filters)),
            "edge_shift_nm": np.concatenate([ins.edge_shift_nm[f] for f in sim.filters]),
            "qe_scale": np.concatenate([ins.qe_scale[f] for f in sim.filters]),
            "gradient_x": np.tile(ins.gradient[:, 0], len(sim.filters)),
            "gradient_y": np.tile(ins.gradient[:, 1], len(sim.filters)),
        })
        n_objects = {name: int(np.sum(scene.objects.kind == k)) for k, name in enumerate(KIND_NAMES)}
        meta = {
            "preset": sim.preset.name, "seed": sim.seed, "site": scene.site.name, "bands": sim.bands,
            "physical_filters": sim.filters, "reference_filter": sim.config.reference_filter,
            "atmosphere": sim.atmosphere_name, "templates": len(sim.templates), "noise": scene.noise,
            "zp_ab": scene.zp_ab, "wash_mjd": ins.wash_mjd, "decline_mag_per_day": ins.decline_mag_per_day,
            "n_visits": len(scene.survey), "n_detectors": len(scene.camera), "n_sources": n_sources,
            "n_star_observations": n_star_obs, "n_refcat": int(len(ref_ids)), "n_objects": n_objects,
            "illumination": {f: ins.illumination[f].tolist() for f in sim.filters},
            "illumination_radius_mm": ins.radius_mm,
        }
        writer.write_json(out / "truth" / "simulation.json", meta)
    return meta


def run_simulate(out, preset: str = "small", seed: int = 1, atmosphere=None, sed_library=None,
                 config_path=None) -> dict:
    """The ``fgcm-db simulate`` command: build and write a simulated tract; returns its summary."""
    if out is None:
        raise FgcmDbError("simulate needs --out DIR")
    config = load_config(config_path).simulate
    t0 = time.perf_counter()
    with status(f"drawing the {preset} survey"):
        sim = build_simulation(preset, seed, atmosphere, sed_library, config)
    meta = write_simulation(sim, out)
    say(f"simulated {meta['n_visits']} visits x {meta['n_detectors']} detectors: {meta['n_sources']} sources, "
        f"{meta['n_star_observations']} star observations, {meta['n_refcat']} reference stars "
        f"in {time.perf_counter() - t0:.1f} s -> {out}")
    return meta
