"""The physics of training PDFs: each effect against srreal or analytics.

Every check goes through :func:`diffpy.sgpredict.physics.physical_pdf`,
the function that computes training rows (fine grid, true Qmax
termination, resampling by the code that resamples measured files).
"""

import json
from pathlib import Path

import numpy
import pytest
from _structures import rutile as rutile_crystal

from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.pdfcalc import load_structure
from diffpy.sgpredict.physics import (
    PhysicsRanges,
    draw_physics,
    physical_pdf,
    spherical_envelope,
)
from diffpy.sgpredict.structures import Crystal

SRREAL = Path(__file__).parent / "data" / "srreal"

#: Qmax far above the model grid's Nyquist limit: no termination, as
#: srreal on the Table-2 grid (see ../shared/data/README.md)
NO_CUT = 90.0


def _crystal(rs):
    stru = load_structure(str(SRREAL / "structures" / f"{rs}.cif"))
    return Crystal.from_diffpy(stru)


def _physics(meta, qmax=None):
    s = meta["settings_set"]
    return {
        "radiation": (
            "neutron" if s["scatteringfactortable"] == "neutron" else "xray"
        ),
        "qmax": qmax if qmax is not None else s["qmax"],
        "qmin": s["qmin"],
        "qdamp": s["qdamp"],
        "qbroad": s["qbroad"],
        "delta1": s["delta1"],
        "delta2": s["delta2"],
        "uiso": float(meta["uiso_assignment"].split("Uiso=")[1].split()[0]),
        "strain": 0.0,
        "particle_diameter": 0.0,
    }


def _golden(name):
    d = numpy.load(SRREAL / "variants" / f"{name}.npz")
    return d["r"], d["G"], json.loads(str(d["meta"]))


def _relative_error(a, b):
    return float(numpy.max(numpy.abs(a - b)) / numpy.max(numpy.abs(b)))


@pytest.mark.parametrize(
    "name, qmax, tol",
    [
        # terminated references: the cut itself is compared
        ("rs0383__qmax18", None, 0.02),
        ("rs0141__qmax18", None, 0.02),
        # unterminated references (Qmax 23 on its own Nyquist limit); the
        # Qmin high-pass acts on another padded range than srreal's,
        # which moves G by up to 2.5 % of its range (0.5 % with Qmin 0)
        ("rs0234__neutron", NO_CUT, 0.03),
        ("rs0141__neutron", NO_CUT, 0.03),
        ("rs0339__neutron", NO_CUT, 0.03),
        ("rs0069__qdamp0p06", NO_CUT, 0.03),
        ("rs0299__qbroad0p03", NO_CUT, 0.03),
        ("rs0100__delta2_2p0", NO_CUT, 0.03),
        ("rs0229__uiso0p020", NO_CUT, 0.03),
    ],
)
def test_physical_pdf_matches_srreal(name, qmax, tol):
    r, g, meta = _golden(name)
    if "uiso0p020" in name:
        meta["uiso_assignment"] = "Uiso=0.02 all"
    c = _crystal(name.split("__")[0])
    rr, gg = physical_pdf(c, _physics(meta, qmax))
    assert numpy.allclose(rr, r)
    assert _relative_error(gg, g) < tol


def test_termination_adds_ripples_of_period_2pi_over_qmax():
    # a single Ni-Ni shell: below the first peak a cut at Qmax leaves
    # sinc-like ripples; without the cut G is the baseline line there
    ni = Crystal(
        numpy.eye(3) * 3.52,
        [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]],
        ["Ni"] * 4,
    )
    base = _physics(
        {
            "settings_set": {
                "scatteringfactortable": "xray",
                "qmax": NO_CUT,
                "qmin": 0.0,
                "qdamp": 0.0,
                "qbroad": 0.0,
                "delta1": 0.0,
                "delta2": 0.0,
            },
            "uiso_assignment": "Uiso=0.003",
        }
    )
    r, g_free = physical_pdf(ni, base)
    _, g_cut = physical_pdf(ni, dict(base, qmax=14.0))
    low = (r > 1.6) & (r < 2.2)
    line = numpy.polyval(numpy.polyfit(r[low], g_free[low], 1), r[low])
    assert numpy.max(numpy.abs(g_free[low] - line)) < 0.01
    assert numpy.max(numpy.abs(g_cut[low] - line)) > 0.2
    # the cut keeps the peak where it was
    near = (r > 2.2) & (r < 2.8)
    assert abs(r[near][g_cut[near].argmax()] - 3.52 / 2**0.5) < 0.07


def _nickel():
    return Crystal(
        numpy.eye(3) * 3.52,
        [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]],
        ["Ni"] * 4,
    )


def _plain(**kw):
    p = {
        "radiation": "xray",
        "qmax": NO_CUT,
        "qmin": 0.0,
        "qdamp": 0.0,
        "qbroad": 0.0,
        "delta1": 0.0,
        "delta2": 0.0,
        "uiso": 0.005,
        "strain": 0.0,
        "particle_diameter": 0.0,
    }
    p.update(kw)
    return p


def test_strain_moves_peaks_by_one_plus_epsilon():
    fine = MODEL_GRID.__class__(1.5, 30.0, 0.005)
    r, g0 = physical_pdf(_nickel(), _plain(), grid=fine)
    _, g1 = physical_pdf(_nickel(), _plain(strain=0.03), grid=fine)
    near = (r > 2.2) & (r < 2.8)
    p0, p1 = r[near][g0[near].argmax()], r[near][g1[near].argmax()]
    assert p0 == pytest.approx(3.52 / 2**0.5, abs=0.006)
    assert p1 / p0 == pytest.approx(1.03, abs=0.003)


def test_peak_height_scales_as_one_over_sigma():
    # sigma = sqrt(2 U) for a pair of like atoms: 4x U halves the height
    # of the peak above the baseline
    r, ga = physical_pdf(_nickel(), _plain(uiso=0.004))
    _, gb = physical_pdf(_nickel(), _plain(uiso=0.016))
    fine = MODEL_GRID.__class__(1.5, 30.0, 0.002)
    r, ga = physical_pdf(_nickel(), _plain(uiso=0.004), grid=fine)
    _, gb = physical_pdf(_nickel(), _plain(uiso=0.016), grid=fine)
    near = (r > 2.2) & (r < 2.8)
    baseline = -4 * numpy.pi * 4 / 3.52**3 * r[near]
    ha = (ga[near] - baseline).max()
    hb = (gb[near] - baseline).max()
    assert ha / hb == pytest.approx(2.0, rel=0.03)


def test_uiso_per_element():
    # rock salt: changing only Cl's Uiso leaves the Na-Na peak as it was
    a = 5.64
    fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    cl = [[x + 0.5 if i == 0 else x for i, x in enumerate(p)] for p in fcc]
    c = Crystal(numpy.eye(3) * a, fcc + cl, ["Na"] * 4 + ["Cl"] * 4)
    fine = MODEL_GRID.__class__(1.5, 30.0, 0.005)
    p0 = _plain(uiso_by_element={"Na": 0.005, "Cl": 0.005})
    p1 = _plain(uiso_by_element={"Na": 0.005, "Cl": 0.02})
    r, g0 = physical_pdf(c, p0, grid=fine)
    _, g1 = physical_pdf(c, p1, grid=fine)
    nacl = numpy.abs(r - a / 2) < 0.05  # Na-Cl pairs: broadened
    assert g1[nacl].max() < 0.8 * g0[nacl].max()
    # Na-Na and Cl-Cl share a/sqrt2; Cl-Cl broadens, Na-Na stays: the
    # peak falls but by less than the Na-Cl one
    like = numpy.abs(r - a / 2**0.5) < 0.05
    ratio_like = g1[like].max() / g0[like].max()
    assert g1[nacl].max() / g0[nacl].max() < ratio_like < 1.0


def test_neutron_lengths_change_peak_signs():
    # rutile: Ti has a negative neutron scattering length, so the Ti-O
    # nearest-neighbour peak (1.95 A) is negative for neutrons and
    # positive for X-rays
    rutile = rutile_crystal()
    fine = MODEL_GRID.__class__(1.5, 30.0, 0.01)
    r, gx = physical_pdf(rutile, _plain(), grid=fine)
    _, gn = physical_pdf(rutile, _plain(radiation="neutron"), grid=fine)
    near = numpy.abs(r - 1.95) < 0.05
    assert gx[near].max() > 1.0
    assert gn[near].min() < -1.0


def test_particle_envelope_multiplies_the_bulk_pdf():
    fine = MODEL_GRID.__class__(1.5, 30.0, 0.01)
    r, bulk = physical_pdf(_nickel(), _plain(), grid=fine)
    _, nano = physical_pdf(
        _nickel(), _plain(particle_diameter=20.0), grid=fine
    )
    env = spherical_envelope(r, 20.0)
    big = (numpy.abs(bulk) > 0.3 * numpy.abs(bulk).max()) & (r < 15)
    # applied on the fine grid before resampling: equal to 0.1 %
    assert numpy.allclose(nano[big], bulk[big] * env[big], rtol=1e-3)
    assert numpy.abs(nano[r > 20.05]).max() < 1e-6 * numpy.abs(bulk).max()


def test_draw_physics_covers_the_ranges():
    rng = numpy.random.default_rng(3)
    ranges = PhysicsRanges()
    draws = [draw_physics(rng, ranges, ["Ti", "O"]) for _ in range(400)]
    q = numpy.array([d["qmax"] for d in draws])
    assert q.min() >= 14 and q.max() <= 40 and q.max() - q.min() > 20
    neutron = numpy.mean([d["radiation"] == "neutron" for d in draws])
    assert 0.3 < neutron < 0.5
    nano = numpy.mean([d["particle_diameter"] > 0 for d in draws])
    assert 0.12 < nano < 0.28
    u = numpy.array([list(d["uiso_by_element"].values()) for d in draws])
    assert u.min() >= 0.002 and u.max() <= 0.03
    # the two elements get different values
    assert numpy.mean(u[:, 0] != u[:, 1]) > 0.9
    fixed = draw_physics(rng, ranges, ["Ni"], radiation="xray")
    assert fixed["radiation"] == "xray"
