"""Tests of the work budgets (diffpy.sgpredict.refine.work)."""

import numpy
import pytest

from diffpy.sgpredict.refine import work


def test_work_meter_counts_the_estimated_costs():
    meter = work.WorkMeter()
    meter.charge(work.relax_cost(24))
    meter.charge(work.distance_cost(24))
    # 21 + 1.3 * 24 ms and 0.125 + 0.0011 * 276 ms, times OVERHEAD
    expected = work.OVERHEAD * (0.0522 + 0.0004286)
    assert meter.counted == pytest.approx(expected, rel=1e-6)
    assert not meter.capped
    # a 2-site cell of 4 atoms in 64 A^3 at rmax 7: 0.46 + 0.581 +
    # 1.6 * 2 * 4 / 64 + 0.012 ms
    arrays = {
        "occ": numpy.ones(4),
        "base": 4.0 * numpy.eye(3),
        "orbit": numpy.array([0, 0, 1, 1]),
    }
    assert work.pdf_cost(arrays, 7.0) == pytest.approx(1.253e-3)
