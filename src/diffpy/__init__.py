"""The diffpy namespace: diffpy.sgpredict beside diffpy.structure & co.

Other diffpy distributions (diffpy.structure, diffpy.utils, diffpy.srfit)
install a regular ``diffpy/__init__.py``.  ``extend_path`` makes this one
a pkgutil-style namespace, so that when ``src/`` comes first on
``sys.path`` (pytest collecting the doctests under ``src``, a checkout on
``PYTHONPATH``) the diffpy packages installed elsewhere still import.
"""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
