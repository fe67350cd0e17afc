"""Process resources a computation borrows and gives back.

Library code changes no process-wide state: a block that needs a thread
count or a seeded random stream sets it on entry and restores the
previous state on exit (:func:`torch_threads`, :func:`blas_threads`,
:func:`restores_torch_state`, each with its example).  The thread
policy of inference (:func:`default_threads`) lives here too.  torch is
imported only by the functions that use it, so that the refinement's
worker processes, which need only :func:`blas_threads`, do not load it.
"""

import contextlib
import functools
import os

from threadpoolctl import threadpool_limits

from diffpy.sgpredict.errors import InputError

__all__ = [
    "torch_threads",
    "blas_threads",
    "restores_torch_state",
    "default_threads",
    "check_threads",
]

#: Batches up to this many PDFs run on one thread by default.
SMALL_BATCH = 16


@contextlib.contextmanager
def torch_threads(threads):
    """Run a block with torch's intra-op thread count set, then restore it.

    Parameters
    ----------
    threads : int or None
        Threads to use; None leaves the count as it is.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@contextlib.contextmanager
def blas_threads(threads):
    """Run a block with the BLAS libraries that numpy and scipy load
    (OpenBLAS, MKL) limited to ``threads`` threads, then restore them.

    The refinement's arrays are small (pair lists of a few thousand
    rows, 3 x 3 metrics, Jacobians of tens of columns): a second BLAS
    thread adds no speed, costs CPU time while it waits, and with one
    fit per core (``refine --jobs``) competes with the other fits.

    Parameters
    ----------
    threads : int or None
        Threads to use; None leaves the libraries as they are.

    Examples
    --------
    >>> import numpy
    >>> from threadpoolctl import threadpool_info
    >>> def blas():
    ...     return [p["num_threads"] for p in threadpool_info()
    ...             if p["user_api"] == "blas"]
    >>> before = blas()
    >>> len(before) >= 1
    True
    >>> with blas_threads(1):
    ...     all(n == 1 for n in blas())
    True
    >>> blas() == before
    True
    """
    if threads is None:
        yield
        return
    with threadpool_limits(limits=int(threads), user_api="blas"):
        yield


def restores_torch_state(func):
    """Decorate a function so torch's thread count and CPU random state
    are the same after it as before it.

    The thread count is the function's ``num_threads`` keyword when
    given.  Inside, the function may seed torch's global generator (for
    weight initialisation) without the caller noticing.

    Examples
    --------
    >>> import torch
    >>> @restores_torch_state
    ... def f(num_threads=None):
    ...     torch.manual_seed(0)
    ...     return torch.get_num_threads()
    >>> state = torch.get_rng_state()
    >>> f(num_threads=1)
    1
    >>> bool((torch.get_rng_state() == state).all())
    True
    """

    import torch

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with torch_threads(kwargs.get("num_threads")):
            with torch.random.fork_rng(devices=[]):
                return func(*args, **kwargs)

    return wrapper


def default_threads(batch=None):
    """Return the default inference thread count for a batch size.

    One thread for up to :data:`SMALL_BATCH` PDFs: a single 209-point
    input is too small to share out, and on a machine whose cores are
    busy a second thread waits for a core instead of helping (measured:
    23 ms with one thread, 660 ms with two on two loaded cores,
    ``benchmarks/predict_latency.py``).  Larger batches use
    ``min(4, cores)``.

    Parameters
    ----------
    batch : int, optional
        Number of PDFs; None gives the count for large batches.

    Examples
    --------
    >>> default_threads(1)
    1
    >>> 1 <= default_threads() <= 4
    True
    """
    if batch is not None and batch <= SMALL_BATCH:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def check_threads(threads):
    """Return ``threads`` as an int (None stays None); refuse others.

    Examples
    --------
    >>> check_threads(2), check_threads(None)
    (2, None)
    """
    if threads is None:
        return None
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise InputError(
            f"threads must be a whole number of at least 1, got {threads!r}"
        )
    return int(threads)
