"""Training: from a dataset file to a model folder with its card.

:func:`train` reads an HDF5 dataset (:mod:`diffpy.sgpredict.dataset`),
sets aside test rows when asked, splits off a validation part (grouped
by prototype key by default, so near-duplicates stay on one side), and
trains

* ``model="cnn"``: the network of Liu et al. (2019) or a smaller one,
  ``model="resnet"``: the residual network that also reads the
  radiation — with class weights, Adam, a learning-rate schedule, early
  stopping on a validation score, on-the-fly augmentation
  (:mod:`diffpy.sgpredict.augment`), an ensemble of several networks,
  and a checkpoint after every epoch from which the same command
  resumes after a kill;
* ``model="logreg"``: the elastic-net logistic-regression baseline.

The result is a model folder (:func:`diffpy.sgpredict.card.save_model`)
holding the weights, the card and ``training_set.json``, the (formula,
group) keys and prototype keys of the training rows, for deduplicating
evaluation sets.

Where each part lives:

* :mod:`~diffpy.sgpredict.training.settings` — :class:`TrainSettings`,
  architecture defaults, the recipe record;
* :mod:`~diffpy.sgpredict.training.data` — reading and splitting the
  data, the fixed validation inputs;
* :mod:`~diffpy.sgpredict.training.loop` — one network's epochs,
  checkpoints and resume;
* :mod:`~diffpy.sgpredict.training.logreg` — the baseline's solvers and
  cross-validation;
* :mod:`~diffpy.sgpredict.training.card` — card, calibration, training
  set;
* :mod:`~diffpy.sgpredict.training.pipeline` — :func:`train`, which
  calls them in order.

Examples
--------
>>> from diffpy.sgpredict.training import TrainSettings
>>> TrainSettings(model="resnet", epochs=3).epochs
3
"""

from diffpy.sgpredict.training.data import load_training_data
from diffpy.sgpredict.training.pipeline import train
from diffpy.sgpredict.training.settings import (
    CNN_DEFAULTS,
    RESNET_DEFAULTS,
    TrainResult,
    TrainSettings,
)

__all__ = [
    "CNN_DEFAULTS",
    "RESNET_DEFAULTS",
    "TrainSettings",
    "TrainResult",
    "train",
    "load_training_data",
]
