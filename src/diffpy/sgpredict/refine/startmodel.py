"""The starting structure of one candidate group, whatever its route.

:class:`StartingStructure` is what every route of
:mod:`~diffpy.sgpredict.refine.starting` returns (the user's CIF, a CIF
library, the bundled prototypes, the Wyckoff enumeration, pyxtal, a
supergroup's refined structure) and what the fits start from.

Examples
--------
>>> from diffpy.sgpredict.refine import settings
>>> from diffpy.sgpredict.refine.startmodel import StartingStructure
>>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
>>> StartingStructure(225, "Fm-3m", ni, "prototype", "A1").diffpy_name
'Fm-3m'
"""

from dataclasses import dataclass, field

from diffpy.sgpredict import spacegroups

__all__ = ["StartingStructure", "DEFAULT_UISO"]

#: Isotropic ADP of every atom of a starting structure (A^2).
DEFAULT_UISO = 0.005


@dataclass
class StartingStructure:
    """A starting structure for one candidate space group.

    Attributes
    ----------
    number : int
        Space-group number.
    symbol : str
        Hermann-Mauguin symbol (diffpy spelling).
    structure : diffpy.structure.Structure
        All atoms of the conventional cell in diffpy's setting.
    source : str
        The route: ``"cif"``, ``"library"``, ``"known"``,
        ``"prototype"``, ``"wyckoff"``, ``"pyxtal"`` or ``"supergroup"``.
    name : str
        Prototype id, CIF file name or a description.
    licence : str
        Licence of the structure source.
    scale : float
        Factor applied to the cell edges to match the data.
    notes : list of str
        What was done, in words (substitutions, skipped CIF...).
    profile : dict
        Starting values of the fit's scale and profile variables (a
        relative's refined ones:
        :func:`~diffpy.sgpredict.refine.fitting.profile_values`); empty
        for the defaults.
    """

    number: int
    symbol: str
    structure: object
    source: str
    name: str
    licence: str = ""
    scale: float = 1.0
    notes: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)

    @property
    def diffpy_name(self):
        """Name of the group for ``GetSpaceGroup``."""
        return spacegroups.get(self.number).diffpy_name

    def to_cif(self, path):
        """Write the structure as a CIF file (all atoms, P1 listing).

        Examples
        --------
        >>> from diffpy.sgpredict.refine import starting_structure
        >>> start = starting_structure(225, composition="Ni")
        >>> start.to_cif("/tmp/start.cif")  # doctest: +SKIP
        """
        self.structure.title = (
            f"{self.name} start for {self.symbol} ({self.number})"
        )
        self.structure.write(str(path), "cif")
        return str(path)
