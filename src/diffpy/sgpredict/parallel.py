"""The process pools of the package.

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

:func:`run_killable` runs each task in its own forked process, a few
at a time, and can stop them: a task still running after a wall-time
limit is killed, a task whose process dies is reported, and Ctrl-C kills
the running tasks and returns the results already in.  The refinements
of :mod:`diffpy.sgpredict.refine` run through it.

Examples
--------
>>> list(parallel_map(abs, [-1, 2, -3], progress=False))
[1, 2, 3]
>>> run_killable(abs, [-1, 2], jobs=2)
([1, 2], False)
"""

import collections
import multiprocessing
import os
import signal
import time
import warnings
from dataclasses import dataclass

from tqdm import tqdm

__all__ = ["parallel_map", "default_jobs", "run_killable", "TaskStopped"]


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

    Long only in this docstring (one entry per option).

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


@dataclass
class TaskStopped:
    """What :func:`run_killable` gives for a task without a result.

    Attributes
    ----------
    reason : str
        ``"died"`` (the process ended without sending a result) or
        ``"wall_limit"`` (killed after ``wall_limit`` seconds).
    message : str
        The same in words.
    seconds : float
        Wall seconds the task ran.
    """

    reason: str
    message: str
    seconds: float


def _fork_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _killable_worker(func, item, conn):
    # the parent handles Ctrl-C and stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(func(item))
    finally:
        conn.close()


def _collect(active, wall_limit):
    """Finished, dead or overrunning tasks of ``active``, removed."""
    out = []
    for i, (proc, conn, started) in list(active.items()):
        seconds = round(time.time() - started, 2)
        if conn.poll():
            try:
                res = conn.recv()
            except EOFError:  # the process ended without sending
                proc.join()
                res = TaskStopped(
                    "died", f"process died (exit {proc.exitcode})", seconds
                )
            proc.join(5)
        elif not proc.is_alive():
            proc.join()
            res = TaskStopped(
                "died", f"process died (exit {proc.exitcode})", seconds
            )
        elif wall_limit is not None and time.time() - started > wall_limit:
            proc.kill()
            proc.join()
            res = TaskStopped(
                "wall_limit",
                f"no result within {wall_limit:g} s of wall time",
                seconds,
            )
        else:
            continue
        del active[i]
        out.append((i, res))
    return out


def run_killable(func, items, jobs=1, wall_limit=None, on_done=None):
    """Run ``func(item)`` for every item, each in its own process.

    Unlike :func:`parallel_map` every task gets a fresh (forked)
    process that can be killed: after ``wall_limit`` seconds of wall
    time, and on Ctrl-C, which stops the running tasks and returns what
    is done instead of raising.  ``func`` need not be picklable (fork),
    its results must be.

    Parameters
    ----------
    func : callable
        Function of one item.
    items : list
        Work items.
    jobs : int
        Tasks running at the same time.
    wall_limit : float, optional
        Wall seconds after which a task is killed (none by default).
    on_done : callable, optional
        ``on_done(done, total, index, result)`` after every task; it may
        raise KeyboardInterrupt to stop the run.

    Returns
    -------
    results : list
        ``func(item)``, a :class:`TaskStopped`, or None for tasks not
        started before Ctrl-C; in the order of ``items``.
    interrupted : bool
        Whether Ctrl-C stopped the run.

    Examples
    --------
    >>> run_killable(abs, [-3, 4], jobs=1)
    ([3, 4], False)
    """
    ctx = _fork_context()
    pending = list(enumerate(items))
    active = {}
    results = [None] * len(pending)
    done = 0
    try:
        while pending or active:
            while pending and len(active) < max(1, int(jobs)):
                i, item = pending.pop(0)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(
                    target=_killable_worker, args=(func, item, child)
                )
                proc.daemon = True
                proc.start()
                child.close()
                active[i] = (proc, parent, time.time())
            time.sleep(0.05)
            for i, res in _collect(active, wall_limit):
                results[i] = res
                done += 1
                if on_done is not None:
                    on_done(done, len(results), i, res)
    except KeyboardInterrupt:
        for proc, _, _ in active.values():
            proc.kill()
            proc.join()
        return results, True
    return results, False
