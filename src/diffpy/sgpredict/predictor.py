"""Space-group prediction from PDFs: :func:`predict` and its result.

The flow is ``file -> (r, G) -> model input X -> network -> probabilities
-> search-match vote -> prior correction -> ranked candidates``.

Prior correction
----------------
The network is trained on a class-balanced mix (class-weighted loss or
balanced sampling), so its raw output answers "which group, if all 45
were equally common?".  Real materials are not: P2_1/c is a thousand
times more common than Ia-3d.  The predictor therefore shifts the
network's log-probabilities by

.. math::

    \\log p(g \\mid X) = \\log q(g \\mid X)
        + \\lambda \\left[\\log \\pi_{\\mathrm{target}}(g)
        - \\log \\pi_{\\mathrm{train}}(g)\\right] + c,

with :math:`\\pi_{\\mathrm{train}}` the effective class prior of training
(stored in the model card), :math:`\\pi_{\\mathrm{target}}` the ICSD
frequencies of :func:`diffpy.sgpredict.spacegroups.icsd_prior` by default
and :math:`\\lambda` the prior strength stored in the card (chosen on
held-out generated data, 1 when absent).  ``prior="none"`` gives the raw
network output.

Calibration
-----------
When the model card carries ``calibration.temperature`` :math:`T`
(fitted on validation data by the trainer), the network's
log-probabilities are divided by :math:`T` before the softmax
(temperature scaling); without it :math:`T = 1`.  Predictions told the
number of species use ``calibration.temperature_species`` when the card
has it (:mod:`diffpy.sgpredict.training.species_head`).

Search-match
------------
When the card names a library of computed PDFs (``card["neighbours"]``),
the calibrated log-probabilities are combined with its vote as a
weighted geometric mean and divided by the library's own temperature,
before the prior correction (:mod:`diffpy.sgpredict.neighbours`;
``neighbours=False`` keeps the network alone).

What else every result carries
------------------------------
The in-domain verdict (:mod:`diffpy.sgpredict.domain`), the families of
candidates the data cannot tell apart (:mod:`diffpy.sgpredict.families`)
and, with a composition (argument or file header), the groups whose
Wyckoff multiplicities cannot hold it
(:func:`diffpy.sgpredict.wyckoff.composition_allowed`) at probability
zero (:mod:`diffpy.sgpredict.candidates`); see
:class:`~diffpy.sgpredict.results.PredictionResult`.

Examples
--------
>>> import numpy
>>> from diffpy.sgpredict import predict
>>> r = numpy.arange(0, 30, 0.01)
>>> g = numpy.random.default_rng(1).normal(size=r.size)
>>> result = predict(r, g, top=3)
>>> result.in_domain, len(result.candidates)
(False, 3)
>>> result.warnings[0][:14]
'not a G(r): th'
"""

import functools
import math
import sys
from pathlib import Path

import numpy
import torch
from tqdm import tqdm

from diffpy.sgpredict import chemprior, spacegroups
from diffpy.sgpredict.candidates import (
    crystal_system_probabilities,
    filter_composition,
    rank_candidates,
)
from diffpy.sgpredict.card import load_model
from diffpy.sgpredict.chemistry import (
    parse_composition,
    species_code,
    species_count,
)
from diffpy.sgpredict.domain import DomainLimits, check_domain
from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.grid import MIN_RMAX, MODEL_GRID, RGrid, to_model_input
from diffpy.sgpredict.io import check_pdf, load_pdf
from diffpy.sgpredict.metrics import prior_log_shift
from diffpy.sgpredict.models import fuse_batchnorm
from diffpy.sgpredict.neighbours import NeighbourLibrary
from diffpy.sgpredict.paths import expand_inputs
from diffpy.sgpredict.results import PredictionResult
from diffpy.sgpredict.runtime import (
    check_threads,
    default_threads,
    torch_threads,
)
from diffpy.sgpredict.wyckoff import composition_allowed

__all__ = ["Predictor", "predict"]

#: Largest number of formula units per cell tried by the composition
#: filter.
DEFAULT_ZMAX = 8


_RADIATION_CODE = {"xray": 0.0, "neutron": 1.0}


class Predictor:
    """A loaded model ready to predict space groups.

    Parameters
    ----------
    model : str or Path, optional
        Model folder (``card.json`` + ``model.safetensors``); default the
        model shipped in the package.
    prior : {"icsd", "paper", "uniform", "none"} or array_like
        Target class prior for the correction described in the module
        documentation; ``"none"`` disables it.
    device : str
        torch device, ``"cpu"`` by default.
    threads : int, optional
        torch threads for inference; default :func:`default_threads`
        of the batch size (one thread for a few PDFs, ``min(4, cores)``
        for many).  Set only while the network runs and restored
        afterwards.
    neighbours : bool
        Combine the network with the model's search-match library
        (:mod:`diffpy.sgpredict.neighbours`) when its card has one;
        False gives the network alone.

    Examples
    --------
    >>> from diffpy.sgpredict.card import default_model_dir
    >>> predictor = Predictor(threads=1)
    >>> predictor.temperature > 0, predictor.threads
    (True, 1)
    >>> ni = default_model_dir().parent / "examples" / "Ni_xray.gr"
    >>> result = predictor.predict(ni)
    >>> result.best.symbol, result.families[0].head
    ('Fm-3m', 225)
    """

    def __init__(
        self,
        model=None,
        prior="icsd",
        device="cpu",
        threads=None,
        neighbours=True,
    ):
        self.threads = check_threads(threads)
        with torch_threads(self.threads or default_threads(1)):
            net, self.card = load_model(model)
            self.net = fuse_batchnorm(net)
        self.device = torch.device(device)
        self.net.to(self.device)
        inp = self.card["input"]
        self.grid = RGrid(inp["rmin"], inp["rmax"], inp["rstep"])
        self.min_rmax = float(inp.get("min_rmax", MIN_RMAX))
        self.labels = [int(n) for n in self.card["labels"]]
        #: how many species codes the network reads; 0 when it reads none
        self.species_input = int(self.card["config"].get("species_input", 0))
        self.log_shift = self._prior_shift(prior)
        calibration = self.card.get("calibration") or {}
        self.temperature = self._temperature(
            calibration.get("temperature", 1.0), "calibration temperature"
        )
        #: the temperature of predictions told the number of species
        self.temperature_species = self._temperature(
            calibration.get("temperature_species", self.temperature),
            "calibration temperature_species",
        )
        #: the search-match library (:mod:`diffpy.sgpredict.neighbours`)
        #: of the model, or None (none in the card, or switched off)
        self.neighbours = None
        if neighbours:
            self.neighbours = NeighbourLibrary.from_card(
                self.card, len(self.labels), self.grid.r
            )
        nb = self.card.get("neighbours") or {}
        t_nb = self._temperature(
            nb.get("temperature", 1.0), "neighbours temperature"
        )
        self._nb_temperature = (
            t_nb,
            self._temperature(
                nb.get("temperature_species", t_nb),
                "neighbours temperature_species",
            ),
        )
        self.limits = DomainLimits.from_card(self.card)
        self._allowed = {}
        own = Path(self.card["path"]) / "stoichiometry_groups.csv"
        self._prior_table = own if own.is_file() else None

    def _temperature(self, value, name):
        """``value`` as a float, refused unless finite and positive."""
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise ModelError(
                f"{self.card['path']}: {name} must be positive, got {value}"
            )
        return value

    def _prior_shift(self, prior):
        """Return the additive log-prior correction per class."""
        if isinstance(prior, str) and prior == "none":
            return numpy.zeros(len(self.labels))
        if isinstance(prior, str):
            full = spacegroups.icsd_prior(prior)
            target = numpy.array(
                [full[spacegroups.index_of(n)] for n in self.labels]
            )
        else:
            target = numpy.asarray(prior, dtype=float)
            if target.shape != (len(self.labels),) or numpy.any(target < 0):
                raise InputError(
                    f"prior must be {len(self.labels)} non-negative numbers"
                )
            target = target / target.sum()
        pinfo = self.card.get("prior", {})
        train = numpy.asarray(
            pinfo.get("train", numpy.ones(len(self.labels))), dtype=float
        )
        strength = float(pinfo.get("strength", 1.0))
        return prior_log_shift(train, target, strength)

    def species_codes(self, composition, n):
        """Species codes of ``n`` rows for models that read them, or None.

        ``composition`` is None, one formula for all rows, or one per
        row (None or unreadable: unknown); see
        :func:`diffpy.sgpredict.chemistry.species_code`.
        """
        if not self.species_input or composition is None:
            return None
        if isinstance(composition, (str, dict)):
            composition = [composition] * n
        if len(composition) != n:
            raise InputError(
                f"composition: {len(composition)} given for {n} PDFs"
            )
        codes = numpy.array(
            [species_code(c, self.species_input) for c in composition]
        )
        return codes if (codes >= 0).any() else None

    def _forward(self, x, radiation=None, species=None):
        """Return ``(probabilities, member_probabilities or None)``.

        The network's log-probabilities (the mean of the members' log
        softmax for an ensemble) are divided by the calibration
        temperature, shifted by the prior and normalised.  ``radiation``
        (0 X-rays, 1 neutrons, NaN unknown, per row) is passed to models
        that read it; rows of unknown radiation get the model's average
        over both.  ``species`` (codes per row, -1 unknown; see
        :meth:`species_codes`) likewise.
        """
        if radiation is not None:
            rad = numpy.asarray(radiation, dtype=float).reshape(-1)
            known = numpy.isfinite(rad)
            if not known.all():
                n = len(numpy.atleast_2d(x))
                p = numpy.empty((n, len(self.labels)))
                mp = None
                parts = [(known, rad[known]), (~known, None)]
                for rows, value in parts:
                    if not rows.any():
                        continue
                    pp, mm = self._forward_rows(
                        numpy.atleast_2d(x)[rows],
                        value,
                        None if species is None else species[rows],
                    )
                    p[rows] = pp
                    if mm is not None:
                        if mp is None:
                            mp = numpy.empty((n, *mm.shape[1:]))
                        mp[rows] = mm
                return p, mp
        return self._forward_rows(x, radiation, species)

    def _forward_rows(self, x, radiation=None, species=None):
        """:meth:`_forward` for rows of one known (or no) radiation."""
        x = numpy.atleast_2d(numpy.asarray(x, dtype=numpy.float32))
        members = getattr(self.net, "members", None)
        out, member_out = [], []
        threads = self.threads or default_threads(len(x))
        with torch_threads(threads), torch.inference_mode():
            # batches of 256 keep the convolutions' working set in cache:
            # 1.5x the throughput of batches of 1024 on two CPU cores
            step = 256
            for start in range(0, len(x), step):
                batch = torch.from_numpy(x[start : start + step])
                batch = batch.to(self.device)
                args = (batch,)
                if radiation is not None:
                    rad = numpy.asarray(radiation, dtype=numpy.float32)
                    args = (batch, torch.from_numpy(rad[start : start + step]))
                if species is not None:
                    # only models that read the species get a third input
                    codes = numpy.asarray(species, dtype=numpy.int64)
                    codes = torch.from_numpy(codes[start : start + step])
                    args = (batch, args[1] if len(args) > 1 else None, codes)
                if members is not None and len(members) > 1:
                    each = torch.stack(
                        [torch.log_softmax(m(*args), -1) for m in members]
                    )
                    member_out.append(
                        each.exp().permute(1, 0, 2).cpu().numpy()
                    )
                    logits = each.mean(dim=0)
                else:
                    logits = self.net(*args)
                temperature = torch.full(
                    (len(batch), 1), self.temperature, dtype=logits.dtype
                )
                if species is not None:
                    # rows told their species have a temperature of their own
                    temperature[codes >= 0] = self.temperature_species
                logp = torch.log_softmax(logits / temperature, -1)
                out.append(logp.cpu().numpy().astype(float))
        logp = numpy.concatenate(out)
        if self.neighbours is not None:
            temperature = numpy.full((len(x), 1), self._nb_temperature[0])
            if species is not None:
                known = numpy.asarray(species) >= 0
                temperature[known] = self._nb_temperature[1]
            with torch_threads(threads), torch.inference_mode():
                both = self.neighbours.combine(logp, x, species)
            logp = both / temperature
        logp = logp + self.log_shift
        logp -= logp.max(axis=1, keepdims=True)
        p = numpy.exp(logp)
        p /= p.sum(axis=1, keepdims=True)
        mp = numpy.concatenate(member_out) if member_out else None
        return p, mp

    def predict_proba(self, x, radiation=None, composition=None):
        """Return class probabilities for model inputs.

        Parameters
        ----------
        x : array_like
            Shape ``(n, npoints)`` normalised inputs.
        radiation : array_like, optional
            Per row 0 (X-rays), 1 (neutrons) or NaN (unknown); only for
            models that read the radiation (``card["inputs"]["radiation"]``).
        composition : str or sequence of str, optional
            One formula for all rows or one per row (None: unknown); only
            models that read the number of species use it
            (``card["inputs"]["species"]``).  The stoichiometry prior and
            the composition filter are :meth:`condition`'s.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, 45)``; rows sum to one.
        """
        if radiation is not None and not self.limits.radiation_input:
            radiation = None
        x = numpy.atleast_2d(x)
        species = self.species_codes(composition, len(x))
        return self._forward(x, radiation, species)[0]

    def allowed(self, composition, zmax=DEFAULT_ZMAX):
        """Return a boolean mask over the labels: can a group hold it?

        Parameters
        ----------
        composition : str
            A formula such as ``"SrFe2As2"`` or ``"Ti O2"``.
        zmax : int
            Largest number of formula units per cell tried.

        Returns
        -------
        numpy.ndarray of bool

        Raises
        ------
        InputError
            For a composition that cannot be read.
        """
        key = (str(composition), int(zmax))
        if key not in self._allowed:
            try:
                comp = parse_composition(str(composition))
            except ValueError as exc:
                raise InputError(
                    f"composition {composition!r} cannot be read ({exc}); "
                    "write it like 'SrFe2As2' or 'Ti O2'"
                ) from None
            if not comp:
                raise InputError(
                    f"composition {composition!r} names no element"
                )
            self._allowed[key] = numpy.array(
                [composition_allowed(comp, n, zmax=zmax) for n in self.labels]
            )
        return self._allowed[key]

    @property
    def stoichiometry_prior(self):
        """The :class:`~diffpy.sgpredict.chemprior.StoichiometryPrior` of
        this model: ``stoichiometry_groups.csv`` in the model folder, else
        the table shipped with the package (loaded when first used)."""
        return chemprior.stoichiometry_prior(self._prior_table)

    def condition(
        self,
        probs,
        composition,
        *,
        top=6,
        zmax=DEFAULT_ZMAX,
        keep_impossible=False,
        stoichiometry_prior=True,
        source="given",
    ):
        """Condition one PDF's probabilities on the sample's composition.

        First the stoichiometry prior
        (:mod:`diffpy.sgpredict.chemprior`) weights each group by how
        often it holds compositions of this kind, then the groups whose
        Wyckoff multiplicities cannot hold it are zeroed
        (:func:`~diffpy.sgpredict.candidates.filter_composition`).

        Parameters
        ----------
        probs : array_like
            Probabilities over :attr:`labels`.
        composition : str
            A formula such as ``"SrFe2As2"``.
        top : int
            Number of candidates shown (for the notes).
        zmax : int
            Largest Z tried by the filter.
        keep_impossible : bool
            Keep the probabilities of impossible groups.
        stoichiometry_prior : bool
            Apply the stoichiometry prior.
        source : str
            Where the composition came from, for the notes.

        Returns
        -------
        probs, possible, impossible, notes
            As :func:`~diffpy.sgpredict.candidates.filter_composition`.

        Examples
        --------
        >>> predictor = Predictor(threads=1)
        >>> flat = numpy.full(45, 1 / 45)
        >>> p, ok, gone, notes = predictor.condition(flat, "SrTiO3")
        >>> predictor.labels[int(p.argmax())]  # perovskite
        221
        >>> p, ok, gone, notes = predictor.condition(flat, "Ni")
        >>> gone, notes[-1][:24]
        ([230], 'stoichiometry prior 1d a')
        """
        head = f"composition {composition} ({source})"
        allowed = self.allowed(composition, zmax)
        notes = []
        if stoichiometry_prior:
            probs, note = self.stoichiometry_prior.apply(
                probs, composition, self.labels
            )
            notes.append(note)
        probs, possible, impossible, more = filter_composition(
            probs,
            self.labels,
            allowed,
            head,
            top,
            {"zmax": zmax, "keep_impossible": keep_impossible},
        )
        return probs, possible, impossible, more + notes

    @staticmethod
    def _radiation_note(radiation, options):
        """Say which radiation a model that reads it was told."""
        if radiation is None:
            return (
                "radiation not stated (no header line, no --radiation): "
                "the probabilities average the X-ray and neutron "
                "predictions; give --radiation xray|neutron if known"
            )
        source = "given" if options.get("radiation") else "from the header"
        name = {"xray": "X-ray"}.get(radiation, radiation)
        return f"radiation {name} ({source})"

    def _result(self, item, probs, members, top, options):
        """Build the :class:`PredictionResult` of one prepared input."""
        name, x, nvalid, meta, r, g, path = item
        composition = options.get("composition") or meta.get("composition")
        possible = numpy.ones(len(self.labels), bool)
        impossible, notes = [], []
        if meta.get("composition_ignored") and not composition:
            notes.append("warning: " + meta["composition_ignored"])
        if composition:
            source = (
                "given" if options.get("composition") else "from the header"
            )
            probs, possible, impossible, notes = self.condition(
                probs,
                composition,
                top=top,
                zmax=options["zmax"],
                keep_impossible=options["keep_impossible"],
                stoichiometry_prior=options["stoichiometry_prior"],
                source=source,
            )
            code = species_code(composition, self.species_input)
            if code >= 0:
                n = species_count(composition)
                notes.append(
                    f"the network was told the number of species: {n}"
                    + (
                        f" (read as {self.species_input} or more)"
                        if n > self.species_input
                        else ""
                    )
                )
        radiation = options.get("radiation") or meta.get("radiation")
        if self.limits.radiation_input:
            notes.append(self._radiation_note(radiation, options))
        cands, fams = rank_candidates(
            probs,
            self.labels,
            top,
            (
                possible
                if composition and not options["keep_impossible"]
                else None
            ),
            possible,
        )
        systems = crystal_system_probabilities(probs, self.labels)
        meta = dict(meta)
        if radiation:
            meta["radiation"] = radiation
        if composition and not meta.get("composition"):
            meta["composition"] = composition
        verdict = None
        if options["check"]:
            verdict = check_domain(
                r,
                g,
                meta,
                limits=self.limits,
                member_probabilities=members,
                # the detector reads the paper's grid: hand over the input
                # the network saw when the model uses that grid
                model_input=(x, nvalid) if self.grid == MODEL_GRID else None,
            )
        return PredictionResult(
            name=name,
            candidates=cands,
            probabilities=probs,
            crystal_systems=systems,
            r=self.grid.r,
            x=x,
            nvalid=nvalid,
            meta=meta,
            domain=verdict,
            families=fams,
            composition=composition or None,
            impossible=impossible,
            path=path,
            r_data=r,
            g_data=g,
            notes=notes,
            labels=self.labels,
        )

    def prepare(self, source, g=None):
        """Turn one input into ``(name, x, nvalid, meta)``.

        ``source`` is a file path, or an r array with ``g`` given.
        """
        return self._load(source, g)[:4]

    def _load(self, source, g=None):
        """Return ``(name, x, nvalid, meta, r, g, path)`` for one input."""
        if g is None:
            data = load_pdf(source)
            r, gg, meta, name = data.r, data.g, data.meta, data.name
            path = data.path
        else:
            r, gg = check_pdf(source, g)
            meta, name, path = {}, "<array>", None
        x, nvalid = to_model_input(r, gg, self.grid, self.min_rmax, name)
        return name, x, nvalid, meta, r, gg, path

    def predict(
        self,
        source,
        g=None,
        top=6,
        *,
        composition=None,
        keep_impossible=False,
        zmax=DEFAULT_ZMAX,
        radiation=None,
        check=True,
        progress=False,
        stoichiometry_prior=True,
    ):
        """Predict the space group of one or several PDFs.

        Parameters
        ----------
        source : str, Path, array_like or list
            A file path, folder or glob pattern; a list of those; or the
            r array (then ``g`` holds G(r), 1-D for one PDF or 2-D
            ``(n, len(r))`` for several).
        g : array_like, optional
            G(r) values when ``source`` is r.
        top : int
            Number of candidates to return.
        composition : str, optional
            Chemical composition; default the file header's, if any.
            Groups that cannot hold it are dropped.
        keep_impossible : bool
            List the groups the composition rules out, marked.
        zmax : int
            Largest Z tried by the composition filter.
        radiation : {"xray", "neutron"}, optional
            The radiation of the data when the header does not say.
        check : bool
            Run the in-domain checks (default True).
        progress : bool
            Show a progress bar on stderr for many files.
        stoichiometry_prior : bool
            With a composition, weight the groups by how often they hold
            compositions of its stoichiometry (:meth:`condition`).

        Returns
        -------
        PredictionResult or list of PredictionResult
            A list when several PDFs (or a folder or pattern) were given.
        """
        top = int(top)
        if not 1 <= top <= len(self.labels):
            raise InputError(f"top must be between 1 and {len(self.labels)}")
        if radiation is not None and radiation not in ("xray", "neutron"):
            raise InputError(
                f"radiation must be 'xray' or 'neutron', got {radiation!r}"
            )
        zmax = int(zmax)
        if zmax < 1:
            raise InputError(f"zmax must be at least 1, got {zmax}")
        options = {
            "composition": composition,
            "keep_impossible": bool(keep_impossible),
            "zmax": zmax,
            "radiation": radiation,
            "check": bool(check),
            "stoichiometry_prior": bool(stoichiometry_prior),
        }
        if composition:
            self.allowed(composition, zmax)  # fail early on a bad formula
        if g is not None:
            garr = numpy.asarray(g, dtype=float)
            if garr.ndim == 2:
                items = [(source, row) for row in garr]
                return self._predict_many(items, top, options)
            return self._predict_many([(source, garr)], top, options)[0]
        if isinstance(source, Path):
            source = str(source)
        several = isinstance(source, (list, tuple)) or (
            isinstance(source, str)
            and (Path(source).is_dir() or any(c in source for c in "*?["))
            and not Path(source).is_file()
        )
        files = expand_inputs(source)
        results = self._predict_many(
            [(s, None) for s in files], top, options, progress
        )
        return results if several else results[0]

    def _predict_many(self, items, top, options, progress=False):
        iterator = items
        if progress and len(items) > 1:
            iterator = tqdm(
                items, desc="predict", unit="file", file=sys.stderr
            )
        prepared = [self._load(s, g) for s, g in iterator]
        x = numpy.stack([p[1] for p in prepared])
        radiation = None
        if self.limits.radiation_input:
            radiation = numpy.array(
                [
                    _RADIATION_CODE.get(
                        options.get("radiation") or p[3].get("radiation"),
                        numpy.nan,
                    )
                    for p in prepared
                ]
            )
        species = self.species_codes(
            [
                options.get("composition") or p[3].get("composition")
                for p in prepared
            ],
            len(prepared),
        )
        probs, members = self._forward(x, radiation, species)
        return [
            self._result(
                item,
                pr,
                None if members is None else members[i],
                top,
                options,
            )
            for i, (item, pr) in enumerate(zip(prepared, probs))
        ]


@functools.lru_cache(maxsize=4)
def _cached_predictor(model, prior, device, threads):
    """Return a loaded :class:`Predictor`; the last few are kept."""
    return Predictor(model, prior=prior, device=device, threads=threads)


def _get_predictor(model, prior, device="cpu", threads=None):
    """Return a :class:`Predictor`, reused for a named prior."""
    if isinstance(prior, str):
        model = str(model) if model is not None else None
        return _cached_predictor(model, prior, device, threads)
    return Predictor(model, prior=prior, device=device, threads=threads)


def predict(
    source,
    g=None,
    *,
    top=6,
    model=None,
    prior="icsd",
    composition=None,
    keep_impossible=False,
    zmax=DEFAULT_ZMAX,
    radiation=None,
    threads=None,
    check=True,
    progress=False,
    stoichiometry_prior=True,
):
    """Predict the space group of a measured or computed PDF.

    Parameters
    ----------
    source : str, Path, list or array_like
        A ``.gr`` file, a folder, a glob pattern, a list of those, or
        the r array (A) with ``g``.
    g : array_like, optional
        G(r) for the r array: 1-D for one PDF, 2-D for several.
    top : int
        Number of candidates (default 6, as the paper's top-6).
    model : str or Path, optional
        A model folder; default the model shipped in the package.
    prior : {"icsd", "paper", "uniform", "none"} or array_like
        Class prior the probabilities refer to; see the module notes.
    composition : str, optional
        E.g. ``"SrFe2As2"``; default the file header's.  Groups whose
        Wyckoff multiplicities cannot hold it for Z <= ``zmax`` are
        dropped.
    keep_impossible : bool
        Keep those groups in the list, marked ``possible=False``.
    zmax : int
        Largest number of formula units per cell (default 8).
    radiation : {"xray", "neutron"}, optional
        Radiation of the data when the header does not say.
    threads : int, optional
        torch threads for inference (default one for up to 16 PDFs,
        else ``min(4, cores)``), set only while the network runs.
    check : bool
        Run the in-domain checks.
    progress : bool
        Progress bar on stderr for many files.
    stoichiometry_prior : bool
        With a composition, weight each group by how often it holds
        compositions of that stoichiometry (elements, AB, ABX3, ...;
        :mod:`diffpy.sgpredict.chemprior`).  False leaves only the
        filter of impossible groups.

    Returns
    -------
    PredictionResult or list of PredictionResult
        One result per PDF; a list when several were given.  Each has
        ``candidates``, ``families``, ``crystal_systems``,
        ``in_domain`` and ``warnings``.

    Raises
    ------
    diffpy.sgpredict.errors.InputError
        For unreadable or unsuitable data (message names the file).

    Examples
    --------
    >>> from diffpy.sgpredict import predict
    >>> from diffpy.sgpredict.card import default_model_dir
    >>> ni = default_model_dir().parent / "examples" / "Ni_xray.gr"
    >>> result = predict(ni, top=3)
    >>> result.best.symbol, result.in_domain, result.warnings
    ('Fm-3m', True, [])
    >>> result.families[0].head
    225
    >>> sorted(result.to_dict())[:4]
    ['candidates', 'composition', 'crystal_systems', 'domain_score']
    >>> with_chem = predict(ni, composition="Ni", top=45)
    >>> with_chem.impossible, len(with_chem.candidates)
    ([230], 44)
    """
    return _get_predictor(
        model, prior, threads=check_threads(threads)
    ).predict(
        source,
        g,
        top=top,
        composition=composition,
        keep_impossible=keep_impossible,
        zmax=zmax,
        radiation=radiation,
        check=check,
        progress=progress,
        stoichiometry_prior=stoichiometry_prior,
    )
