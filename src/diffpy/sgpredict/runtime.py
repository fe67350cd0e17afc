"""Process resources a computation borrows and gives back.

Library code changes no process-wide state: a block that needs a thread
count or a seeded random stream sets it on entry and restores the
previous state on exit.

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

import contextlib
import functools

__all__ = ["torch_threads", "restores_torch_state"]


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
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


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

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import torch

        with torch_threads(kwargs.get("num_threads")):
            with torch.random.fork_rng(devices=[]):
                return func(*args, **kwargs)

    return wrapper
