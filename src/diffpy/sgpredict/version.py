"""Definition of __version__ for diffpy.sgpredict."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("diffpy.sgpredict")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
