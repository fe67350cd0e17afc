"""Small structures shared by the tests."""

import numpy

from diffpy.sgpredict.structures import Crystal


def rutile():
    """Rutile TiO2 (P4_2/mnm): a 4.594, c 2.959 A, O at (x, x, 0), x 0.305.

    Ti scatters neutrons with a negative length (b = -3.44 fm).
    """
    a, c, x = 4.594, 2.959, 0.305
    frac = [
        [0, 0, 0],
        [0.5, 0.5, 0.5],
        [x, x, 0],
        [-x, -x, 0],
        [0.5 + x, 0.5 - x, 0.5],
        [0.5 - x, 0.5 + x, 0.5],
    ]
    return Crystal(numpy.diag([a, a, c]), frac, ["Ti"] * 2 + ["O"] * 4)
