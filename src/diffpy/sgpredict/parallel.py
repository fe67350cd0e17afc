"""One map function over local processes or a Dask cluster.

:func:`parallel_map` applies a picklable function to work items and
yields the results **in the order of the items**, whatever runs them:

* ``jobs=1`` (default): in this process, no pool;
* ``jobs=J``: J local worker processes (``multiprocessing``);
* ``client=`` a ``dask.distributed.Client``, or ``scheduler="tcp://HOST:PORT"``
  to connect to a running Dask scheduler.

Only a bounded window of items is in flight at any moment, so memory
stays flat however many items stream through.  A tqdm progress bar
shows items per second and, when ``is_skip`` is given, how many results
were skips.

Examples
--------
>>> list(parallel_map(abs, [-1, 2, -3], progress=False))
[1, 2, 3]
"""

import collections
import multiprocessing
import os
import warnings

from tqdm import tqdm

__all__ = ["parallel_map", "default_jobs"]


def default_jobs():
    """Number of local worker processes to use by default (1).

    Examples
    --------
    >>> default_jobs()
    1
    """
    return 1


def _progress(total, desc, enabled):
    return tqdm(
        total=total,
        desc=desc,
        unit="struct",
        disable=not enabled,
        smoothing=0.05,
        dynamic_ncols=True,
    )


def _local(func, items, jobs, window):
    if jobs <= 1:
        for it in items:
            yield func(it)
        return
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else None)
    with ctx.Pool(jobs) as pool:
        yield from pool.imap(func, items, chunksize=1)


def _dask(func, items, client, window):
    pending = collections.deque()
    it = iter(items)
    for item in it:
        pending.append(client.submit(func, item, pure=False))
        if len(pending) >= window:
            break
    while pending:
        fut = pending.popleft()
        result = fut.result()
        fut.release()
        for item in it:
            pending.append(client.submit(func, item, pure=False))
            break
        yield result


def _dask_window(client):
    """Items in flight on a Dask cluster: 4 per worker thread, >= 8."""
    try:
        nthreads = sum(client.nthreads().values())
    except (OSError, TimeoutError, RuntimeError) as exc:
        warnings.warn(
            f"cannot ask the Dask scheduler for its threads "
            f"({type(exc).__name__}: {exc}); keeping 8 items in flight",
            RuntimeWarning,
            stacklevel=3,
        )
        nthreads = 2
    return max(8, 4 * nthreads)


def parallel_map(
    func,
    items,
    jobs=1,
    client=None,
    scheduler=None,
    progress=True,
    desc="structures",
    is_skip=None,
    total=None,
    window=None,
):
    """Apply ``func`` to every item and yield the results in order.

    Parameters
    ----------
    func : callable
        A picklable (module-level) function of one item.
    items : iterable
        Work items (picklable).
    jobs : int
        Local worker processes; 1 runs in this process.
    client : dask.distributed.Client, optional
        Run on this Dask client.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``); a client is
        opened for the duration of the map.
    progress : bool
        Show a tqdm progress bar.
    desc : str
        Label of the progress bar.
    is_skip : callable, optional
        ``is_skip(result)`` says whether a result is a skip; skips are
        counted on the progress bar.
    total : int, optional
        Number of items, for the progress bar (default ``len(items)``).
    window : int, optional
        Most items in flight on a Dask cluster (default 4 per worker
        thread, at least 8).

    Yields
    ------
    object
        ``func(item)`` in the order of ``items``.

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=1, processes=False) as cluster, \\
    ...         Client(cluster) as client:  # doctest: +SKIP
    ...     list(parallel_map(abs, [-1, -2], client=client, progress=False))
    [1, 2]
    """
    if total is None:
        try:
            total = len(items)
        except TypeError:
            total = None
    own_client = None
    if client is None and scheduler:
        from dask.distributed import Client

        own_client = client = Client(scheduler)
    try:
        if client is not None:
            if window is None:
                window = _dask_window(client)
            gen = _dask(func, items, client, window)
        else:
            gen = _local(func, items, int(jobs or 1), window)
        skipped = 0
        with _progress(total, desc, progress) as bar:
            for result in gen:
                if is_skip is not None and is_skip(result):
                    skipped += 1
                    bar.set_postfix(skipped=skipped, refresh=False)
                bar.update(1)
                yield result
    finally:
        if own_client is not None:
            own_client.close()
