"""Entry-point groups: how other packages add commands and calculators.

:func:`entry_points` is the one scan of an entry-point group (with the
``entrypoints`` package, as the design card asks) used by the command
line (``diffpy.sgpredict.commands``) and the PDF calculators
(``diffpy.sgpredict.calculators``).
"""

import functools

import entrypoints

__all__ = ["entry_points"]


@functools.lru_cache(maxsize=None)
def entry_points(group):
    """Return ``{name: entry point}`` of a group, sorted by name.

    When two distributions register one name, the first found on
    ``sys.path`` wins (as Python's import would).  The scan of
    ``sys.path`` takes about 10 ms, so it is done once per group.

    Examples
    --------
    >>> "builtin" in entry_points("diffpy.sgpredict.calculators")
    True
    """
    found = {}
    for ep in entrypoints.get_group_all(group):
        found.setdefault(ep.name, ep)
    return {name: found[name] for name in sorted(found)}
