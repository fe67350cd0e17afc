"""Predict the space group of a material from its PDF.

``from diffpy.sgpredict import predict`` gives the main entry point; the
names below are imported on first use so that ``import diffpy.sgpredict``
stays fast and does not load torch until a prediction is made.

Examples
--------
>>> from diffpy.sgpredict import predict            # doctest: +SKIP
>>> result = predict("Ni.gr")                       # doctest: +SKIP
>>> result.candidates[0].symbol                     # doctest: +SKIP
'Fm-3m'
"""

import importlib

from diffpy.sgpredict.version import __version__  # noqa: F401

_LAZY = {
    "predict": "diffpy.sgpredict.predictor",
    "Predictor": "diffpy.sgpredict.predictor",
    "PredictionResult": "diffpy.sgpredict.results",
    "calculate_pdf": "diffpy.sgpredict.pdfcalc",
    "load_pdf": "diffpy.sgpredict.io",
    "starting_structure": "diffpy.sgpredict.refine",
    "write_templates": "diffpy.sgpredict.refine",
    "fit_candidates": "diffpy.sgpredict.refine",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(
        f"module 'diffpy.sgpredict' has no attribute {name!r}"
    )


def __dir__():
    return sorted(__all__)
