"""The 45 space groups that diffpy.sgpredict distinguishes.

One table, one home: every other module maps labels to class indices,
symbols to numbers and groups to crystal systems through this module.

The groups are the 45 most populated space groups of the ICSD used by
Liu et al., Acta Cryst. A 75, 633 (2019), which together hold more than
80 % of the known inorganic structures.

Columns of the table
--------------------
number
    International Tables space-group number.
symbol
    Short Hermann-Mauguin symbol as diffpy.structure spells it (no
    underscores, ``P21/c``), with rhombohedral groups in their ``R``
    form.  Group 64 keeps its older name ``Cmca`` (``Cmce`` today).
diffpy_name
    The name under which :func:`diffpy.structure.spacegroups.GetSpaceGroup`
    returns this group in its standard (hexagonal for ``R``) setting.
crystal_system
    One of the seven crystal systems (lower case).
point_group, point_group_order
    Crystal class and its number of operations.
paper_count
    Number of ICSD entries per group in the training split (80 % of
    101,802 structures) of the paper.
icsd_count
    Number of ICSD entries per group in the 2025 ICSD catalogue shipped in
    the ``dara-xrd`` 1.3.0 wheel (``shared/data/icsd_sg_totals.csv``).
    These are the class frequencies of real materials and serve as the
    default prior of predictions.  The catalogue undercounts Ia-3d (230)
    about 60-fold; its count here is the paper's count scaled by the
    median catalogue/paper ratio of the other groups.
maximal_subgroups
    The maximal (translationengleiche or klassengleiche) subgroups of the
    group that are themselves among the 45, from the International Tables
    (computed with pyxtal once and stored here).

Examples
--------
>>> from diffpy.sgpredict import spacegroups
>>> spacegroups.get(225).symbol
'Fm-3m'
>>> spacegroups.index_of(225)
42
>>> spacegroups.lookup("P2_1/c").number
14
"""

from dataclasses import dataclass

import numpy

__all__ = [
    "SpaceGroupInfo",
    "SPACE_GROUPS",
    "NUMBERS",
    "CRYSTAL_SYSTEMS",
    "get",
    "lookup",
    "index_of",
    "number_of",
    "crystal_system_index",
    "icsd_prior",
    "is_subgroup",
]

CRYSTAL_SYSTEMS = (
    "triclinic",
    "monoclinic",
    "orthorhombic",
    "tetragonal",
    "trigonal",
    "hexagonal",
    "cubic",
)


@dataclass(frozen=True)
class SpaceGroupInfo:
    """Facts about one of the 45 space groups.

    Attributes
    ----------
    number : int
        Space-group number (1-230).
    symbol : str
        Short Hermann-Mauguin symbol, e.g. ``"Fm-3m"``.
    diffpy_name : str
        Name for :func:`diffpy.structure.spacegroups.GetSpaceGroup`.
    crystal_system : str
        Crystal system in lower case.
    point_group : str
        Crystal class, e.g. ``"m-3m"``.
    point_group_order : int
        Number of operations of the point group.
    paper_count : int
        ICSD entries of this group in Liu et al. (2019).
    icsd_count : int
        ICSD entries of this group in the 2025 ICSD catalogue.
    maximal_subgroups : tuple of int
        Maximal subgroups that are among the 45 groups.
    index : int
        Class index used by models (0-44, ordered by number).
    """

    number: int
    symbol: str
    diffpy_name: str
    crystal_system: str
    point_group: str
    point_group_order: int
    paper_count: int
    icsd_count: int
    maximal_subgroups: tuple
    index: int


# (number, symbol, diffpy_name, crystal system, point group,
#  point-group order, paper count, ICSD 2025 count, maximal subgroups)
_ROWS = (
    (2, "P-1", "P-1", "triclinic", "-1", 2, 4615, 6018, ()),
    (4, "P21", "P21", "monoclinic", "2", 2, 581, 885, ()),
    (9, "Cc", "Cc", "monoclinic", "m", 2, 489, 570, ()),
    (11, "P21/m", "P21/m", "monoclinic", "2/m", 4, 1247, 1814, (2, 4, 14)),
    (
        12,
        "C2/m",
        "C2/m",
        "monoclinic",
        "2/m",
        4,
        3529,
        5443,
        (2, 11, 13, 14, 15),
    ),
    (13, "P2/c", "P2/c", "monoclinic", "2/m", 4, 442, 642, (2, 14, 15)),
    (14, "P21/c", "P21/c", "monoclinic", "2/m", 4, 7392, 10196, (2, 4)),
    (15, "C2/c", "C2/c", "monoclinic", "2/m", 4, 3704, 4504, (2, 9, 13, 14)),
    (19, "P212121", "P212121", "orthorhombic", "222", 4, 701, 930, (4,)),
    (33, "Pna21", "Pna21", "orthorhombic", "mm2", 4, 743, 1161, (4,)),
    (36, "Cmc21", "Cmc21", "orthorhombic", "mm2", 4, 525, 789, (4, 9, 33)),
    (47, "Pmmm", "Pmmm", "orthorhombic", "mmm", 8, 646, 906, (65,)),
    (55, "Pbam", "Pbam", "orthorhombic", "mmm", 8, 745, 1145, (14, 58, 62)),
    (58, "Pnnm", "Pnnm", "orthorhombic", "mmm", 8, 477, 757, (14,)),
    (60, "Pbcn", "Pbcn", "orthorhombic", "mmm", 8, 478, 666, (13, 14, 33)),
    (61, "Pbca", "Pbca", "orthorhombic", "mmm", 8, 853, 893, (14, 19)),
    (
        62,
        "Pnma",
        "Pnma",
        "orthorhombic",
        "mmm",
        8,
        6930,
        11041,
        (11, 14, 19, 33),
    ),
    (
        63,
        "Cmcm",
        "Cmcm",
        "orthorhombic",
        "mmm",
        8,
        2249,
        3223,
        (11, 12, 15, 36, 58, 60, 62),
    ),
    (
        64,
        "Cmca",
        "Cmca",
        "orthorhombic",
        "mmm",
        8,
        575,
        758,
        (12, 14, 15, 36, 55, 60, 61, 62),
    ),
    (
        65,
        "Cmmm",
        "Cmmm",
        "orthorhombic",
        "mmm",
        8,
        513,
        722,
        (12, 47, 55, 63, 71),
    ),
    (71, "Immm", "Immm", "orthorhombic", "mmm", 8, 754, 1045, (12, 47, 58)),
    (87, "I4/m", "I4/m", "tetragonal", "4/m", 8, 569, 878, (12,)),
    (88, "I41/a", "I41/a", "tetragonal", "4/m", 8, 397, 604, (15,)),
    (122, "I-42d", "I-42d", "tetragonal", "-42m", 8, 373, 555, ()),
    (
        123,
        "P4/mmm",
        "P4/mmm",
        "tetragonal",
        "4/mmm",
        16,
        1729,
        2548,
        (47, 65, 129, 139, 140),
    ),
    (129, "P4/nmm", "P4/nmm", "tetragonal", "4/mmm", 16, 1376, 2029, ()),
    (
        136,
        "P42/mnm",
        "P42/mnm",
        "tetragonal",
        "4/mmm",
        16,
        870,
        1220,
        (58, 65),
    ),
    (
        139,
        "I4/mmm",
        "I4/mmm",
        "tetragonal",
        "4/mmm",
        16,
        4028,
        5968,
        (71, 87, 123, 129, 136),
    ),
    (140, "I4/mcm", "I4/mcm", "tetragonal", "4/mmm", 16, 1026, 1533, (87,)),
    (
        141,
        "I41/amd",
        "I41/amd",
        "tetragonal",
        "4/mmm",
        16,
        700,
        1064,
        (88, 122),
    ),
    (148, "R-3", "H-3", "trigonal", "-3", 6, 1186, 1646, (2,)),
    (160, "R3m", "H3m", "trigonal", "3m", 6, 482, 567, ()),
    (164, "P-3m1", "P-3m1", "trigonal", "-3m", 12, 1005, 1676, (12,)),
    (
        166,
        "R-3m",
        "H-3m",
        "trigonal",
        "-3m",
        12,
        2810,
        4451,
        (12, 148, 160, 164, 167),
    ),
    (167, "R-3c", "H-3c", "trigonal", "-3m", 12, 1390, 2164, (15, 148)),
    (176, "P63/m", "P63/m", "hexagonal", "6/m", 12, 1289, 2069, (11,)),
    (186, "P63mc", "P63mc", "hexagonal", "6mm", 12, 849, 1317, (36,)),
    (
        191,
        "P6/mmm",
        "P6/mmm",
        "hexagonal",
        "6/mmm",
        24,
        3232,
        2337,
        (65, 164, 194),
    ),
    (
        194,
        "P63/mmc",
        "P63/mmc",
        "hexagonal",
        "6/mmm",
        24,
        3971,
        5917,
        (63, 164, 176, 186),
    ),
    (205, "Pa-3", "Pa-3", "cubic", "m-3", 24, 447, 507, (61, 148)),
    (216, "F-43m", "F-43m", "cubic", "-43m", 24, 2893, 1835, (160,)),
    (221, "Pm-3m", "Pm-3m", "cubic", "m-3m", 48, 2933, 4290, (123, 166, 225)),
    (
        225,
        "Fm-3m",
        "Fm-3m",
        "cubic",
        "m-3m",
        48,
        4860,
        7475,
        (139, 166, 216, 221),
    ),
    (227, "Fd-3m", "Fd-3m", "cubic", "m-3m", 48, 4382, 7505, (141, 166, 216)),
    # the catalogue lists 8 Ia-3d entries, about 60 times too few (its
    # filtering lost the garnets); 671 = 455 (paper) x 1.474, the median
    # catalogue/paper ratio of the other 44 groups
    (230, "Ia-3d", "Ia-3d", "cubic", "m-3m", 48, 455, 671, (167,)),
)

SPACE_GROUPS = tuple(
    SpaceGroupInfo(*row, index=i) for i, row in enumerate(_ROWS)
)
NUMBERS = tuple(g.number for g in SPACE_GROUPS)
_BY_NUMBER = {g.number: g for g in SPACE_GROUPS}


def _canonical(symbol):
    """Return a symbol stripped of spaces and underscores, lower case."""
    return symbol.replace(" ", "").replace("_", "").lower()


_BY_SYMBOL = {}
for _g in SPACE_GROUPS:
    _BY_SYMBOL[_canonical(_g.symbol)] = _g
    _BY_SYMBOL[_canonical(_g.diffpy_name)] = _g
_BY_SYMBOL[_canonical("Cmce")] = _BY_NUMBER[64]
_BY_SYMBOL[_canonical("Cmca")] = _BY_NUMBER[64]


def get(number):
    """Return the :class:`SpaceGroupInfo` of a group number.

    Parameters
    ----------
    number : int
        Space-group number; must be one of the 45 groups.

    Returns
    -------
    SpaceGroupInfo

    Raises
    ------
    KeyError
        When the group is not among the 45.

    Examples
    --------
    >>> get(62).symbol
    'Pnma'
    """
    try:
        return _BY_NUMBER[int(number)]
    except (KeyError, ValueError, TypeError):
        raise KeyError(
            f"space group {number!r} is not one of the 45 groups "
            f"diffpy.sgpredict knows: {', '.join(map(str, NUMBERS))}"
        ) from None


def lookup(key):
    """Find a group by number or Hermann-Mauguin symbol.

    Symbols are matched without spaces, underscores or case, so
    ``"P2_1/c"``, ``"P21/c"`` and ``"p 21/c"`` all give group 14.

    Parameters
    ----------
    key : int or str
        Group number, a string of digits or a symbol.

    Returns
    -------
    SpaceGroupInfo

    Examples
    --------
    >>> lookup("P6_3/mmc").number
    194
    >>> lookup("166").symbol
    'R-3m'
    """
    if isinstance(key, (int, numpy.integer)):
        return get(key)
    text = str(key).strip()
    if text.isdigit():
        return get(int(text))
    try:
        return _BY_SYMBOL[_canonical(text)]
    except KeyError:
        raise KeyError(
            f"space group {key!r} is not one of the 45 groups "
            "diffpy.sgpredict knows"
        ) from None


def index_of(number):
    """Return the class index (0-44) of a space-group number.

    Examples
    --------
    >>> index_of(2), index_of(230)
    (0, 44)
    """
    return get(number).index


def number_of(index):
    """Return the space-group number of a class index (0-44).

    Examples
    --------
    >>> number_of(0)
    2
    """
    return SPACE_GROUPS[int(index)].number


def crystal_system_index():
    """Return, for each class index, the index of its crystal system.

    Returns
    -------
    numpy.ndarray
        Integer array of length 45 indexing :data:`CRYSTAL_SYSTEMS`.

    Examples
    --------
    >>> CRYSTAL_SYSTEMS[crystal_system_index()[-1]]
    'cubic'
    """
    return numpy.array(
        [CRYSTAL_SYSTEMS.index(g.crystal_system) for g in SPACE_GROUPS]
    )


def icsd_prior(source="icsd"):
    """Return the class frequencies of real materials.

    Parameters
    ----------
    source : {"icsd", "paper", "uniform"}
        ``"icsd"`` uses the 2025 ICSD catalogue counts, ``"paper"`` the
        counts of Liu et al. (2019), ``"uniform"`` gives equal weights.

    Returns
    -------
    numpy.ndarray
        Probabilities over the 45 classes, summing to one.

    Examples
    --------
    >>> p = icsd_prior()
    >>> round(float(p.sum()), 6)
    1.0
    """
    if source == "icsd":
        counts = numpy.array([g.icsd_count for g in SPACE_GROUPS], float)
    elif source == "paper":
        counts = numpy.array([g.paper_count for g in SPACE_GROUPS], float)
    elif source == "uniform":
        counts = numpy.ones(len(SPACE_GROUPS))
    else:
        raise ValueError(
            f"unknown prior {source!r}; use 'icsd', 'paper' or 'uniform'"
        )
    return counts / counts.sum()


def is_subgroup(sub, group):
    """Tell whether ``sub`` is a subgroup of ``group`` within the 45.

    The relation is the transitive closure of the maximal-subgroup links
    stored in the table, so only chains through the 45 groups are found.
    Klassengleiche links make it cyclic for some pairs (Fm-3m is a
    subgroup of Pm-3m with a doubled cell and vice versa); a group is
    not counted as its own subgroup.

    Examples
    --------
    >>> is_subgroup(2, 14), is_subgroup(14, 2)
    (True, False)
    """
    sub = int(sub)
    if sub == int(group):
        return False
    seen = set()
    todo = [int(group)]
    while todo:
        g = todo.pop()
        for s in get(g).maximal_subgroups:
            if s == sub:
                return True
            if s not in seen:
                seen.add(s)
                todo.append(s)
    return False
