"""The in-domain verdict: each out-of-domain kind, and measured data pass."""

import math
from pathlib import Path

import numpy
import pytest

from diffpy.sgpredict.domain import (
    DomainLimits,
    check_domain,
    ensemble_disagreement,
    pdf_features,
)

R = numpy.arange(0.0, 30.0, 0.01)
RNG = numpy.random.default_rng(0)
SHARED = Path(__file__).parents[2] / "shared" / "data"


def qmax_cut(r, g, qmax):
    """Keep only Q <= qmax of G(r) (the termination of measured data)."""
    q = numpy.arange(0.0, qmax, 0.02)
    dr = r[1] - r[0]
    fq = (numpy.sin(numpy.outer(q, r)) * g).sum(axis=1) * dr
    return (2 / math.pi) * (numpy.sin(numpy.outer(r, q)) * fq).sum(1) * 0.02


def crystal(qmax=25.0, rmax=30.0):
    """G(r) of fcc Ni from the package's calculator."""
    from diffpy.structure import Atom, Lattice, Structure

    from diffpy.sgpredict.pdfcalc import calculate_pdf

    xyz = [(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)]
    ni = Structure(
        [Atom("Ni", p) for p in xyz],
        lattice=Lattice(3.52, 3.52, 3.52, 90, 90, 90),
    )
    return calculate_pdf(
        ni, rmin=0.0, rmax=rmax, rstep=0.01, qmin=0.5, qmax=qmax, uiso=0.005
    )


def amorphous():
    """The crystal smeared with a width growing as sqrt(r): a glass."""
    r, g = crystal()
    out = numpy.empty_like(g)
    for i, ri in enumerate(r):
        s = max(0.2 * math.sqrt(max(ri, 0.1)) - 0.1, 0.02)
        k = numpy.exp(-0.5 * ((r - ri) / s) ** 2)
        out[i] = (k * g).sum() / k.sum()
    return r, out


def molecular():
    """Sharp intramolecular peaks, broad intermolecular ones (analytic)."""
    r = R
    g = -4 * math.pi * 0.03 * r
    for d, n in ((1.4, 2.0), (2.42, 2.0), (2.8, 1.0)):
        g += (
            n
            * numpy.exp(-0.5 * ((r - d) / 0.05) ** 2)
            / (0.05 * 2.5066 * r.clip(0.5))
        )
    for d in numpy.arange(4.5, 40.0, 1.3):
        n = 4 * math.pi * 0.03 * d**2 * 1.3
        g += (
            n
            * numpy.exp(-0.5 * ((r - d) / 0.45) ** 2)
            / (0.45 * 2.5066 * r.clip(0.5))
        )
    return r, qmax_cut(r, g, 25.0)


def test_crystal_is_in_domain():
    verdict = check_domain(*crystal())
    assert verdict.in_domain, verdict.warnings
    assert verdict.score < 1
    assert verdict.warnings == []


def test_measured_ni_is_in_domain(ni_xray):
    from diffpy.sgpredict.io import load_pdf

    data = load_pdf(ni_xray)
    verdict = check_domain(data.r, data.g, data.meta)
    assert verdict.in_domain, verdict.warnings
    assert (
        0.3 < verdict.features["fwhm"] < 0.3 or verdict.features["fwhm"] > 0.14
    )


@pytest.mark.parametrize(
    "kind, data, reasons",
    [
        ("noise", (R, RNG.normal(size=R.size)), ["not a G(r)"]),
        ("constant", (R, numpy.full(R.size, 2.0)), ["constant"]),
        ("amorphous", amorphous(), ["beyond 10 A are broad", "high Q"]),
        ("molecular", molecular(), ["beyond 10 A are broad", "high Q"]),
    ],
)
def test_out_of_domain_kinds_are_flagged(kind, data, reasons):
    verdict = check_domain(*data)
    assert not verdict.in_domain, kind
    assert verdict.score >= 1
    assert any(
        reason in w for w in verdict.warnings for reason in reasons
    ), verdict.warnings


def test_fq_saved_as_gr_is_flagged():
    # F(Q) of the crystal model, written with Q in the first column
    q = numpy.arange(0.5, 30.0, 0.01)
    rr, g = crystal(qmax=40.0, rmax=80.0)
    fq = (numpy.sin(numpy.outer(q, rr)) * g).sum(axis=1) * 0.01
    verdict = check_domain(q, fq)
    assert not verdict.in_domain
    assert any("F(Q)" in w or "too sharp" in w for w in verdict.warnings)


def test_low_qmax_is_flagged_from_data_and_header():
    verdict = check_domain(*crystal(qmax=5.0))
    assert not verdict.in_domain
    assert any("little information at high Q" in w for w in verdict.warnings)
    header = check_domain(*crystal(), {"qmax": 45.0})
    assert not header.in_domain
    assert header.warnings == [
        "Qmax = 45 1/A in the header is outside the training range "
        "14-40 1/A"
    ]


def test_radiation_not_covered():
    meta = {"radiation": "neutron", "composition": "TiO2"}
    verdict = check_domain(*crystal(), meta)
    assert not verdict.in_domain
    assert "neutron data of a compound" in verdict.warnings[0]
    # one element: x-ray and neutron PDFs have the same peak weights
    ni = check_domain(
        *crystal(), {"radiation": "neutron", "composition": "Ni"}
    )
    assert ni.in_domain and "fine for one element" in ni.warnings[0]
    both = DomainLimits(radiation=("neutron", "xray"))
    assert check_domain(*crystal(), meta, limits=both).in_domain


def test_coarse_grid_is_flagged():
    r, g = crystal()
    verdict = check_domain(r[::25], g[::25])
    assert not verdict.in_domain
    assert any("coarser than the model grid" in w for w in verdict.warnings)


def test_mixture_flagged_when_members_disagree():
    members = numpy.zeros((3, 45))
    members[0, 0] = members[1, 10] = members[2, 20] = 1.0
    verdict = check_domain(*crystal(), member_probabilities=members)
    assert not verdict.in_domain
    assert verdict.features["disagreement"] == pytest.approx(math.log(3))
    agree = numpy.tile(numpy.full(45, 1 / 45), (3, 1))
    assert check_domain(*crystal(), member_probabilities=agree).in_domain


def test_disagreement_is_mutual_information():
    p = numpy.array([[0.9, 0.1], [0.1, 0.9]])
    mean = p.mean(0)
    h = -(mean * numpy.log(mean)).sum()
    hm = -(p * numpy.log(p)).sum(1).mean()
    assert ensemble_disagreement(p) == pytest.approx(h - hm)


def test_limits_from_cards():
    card = {
        "input": {"rstep": 0.1},
        "recipe": {"augment_config": {"qmax_range": [14.0, 40.0]}},
        "training_data": {
            "provenance": {
                "config": {"ranges": {"qmax": [18, 30]}, "scattering": "xray"}
            }
        },
    }
    limits = DomainLimits.from_card(card)
    assert limits.qmax_range == (14.0, 40.0)
    assert limits.radiation == ("xray",)
    assert limits.max_rstep == 0.1
    card["inputs"] = {"radiation": True}
    assert DomainLimits.from_card(card).radiation == ("neutron", "xray")


def test_features_of_the_crystal_model():
    f = pdf_features(*crystal())
    assert f["r1"] == pytest.approx(3.52 / math.sqrt(2), abs=0.02)
    assert 0.15 < f["fwhm"] < 0.3  # 2.355 sigma of 0.08 A, Qmax 25
    assert f["order"] > 0.5


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not present")
def test_measured_pdfs_are_rarely_flagged():
    from diffpy.sgpredict import predict

    files = sorted((SHARED / "exp_pdfs").glob("*.gr"))
    results = predict(files, top=3)
    flagged = [r.name for r in results if not r.in_domain]
    assert len(files) == 21
    # only the CdSe nanoparticle measured to Qmax 9 (training: 14-40)
    assert flagged == ["CdSe_NP15_old_xray_q9.gr"]
