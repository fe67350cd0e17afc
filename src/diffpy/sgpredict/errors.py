"""Errors that reach the user as one line of text.

Every problem with the user's input (a file that does not exist, data
that are not a PDF, a model whose checksum does not match) raises
:class:`SgpredictError` with a message that names the file, says what is
wrong and what to do.  The command line prints that message and exits
with status 2; Python callers can catch it.
"""

__all__ = ["SgpredictError", "InputError", "ModelError"]


class SgpredictError(Exception):
    """Base class of the errors diffpy.sgpredict reports to users.

    Examples
    --------
    >>> try:
    ...     raise InputError("sample.gr: file is empty; give a PDF file")
    ... except SgpredictError as e:
    ...     print(e)
    sample.gr: file is empty; give a PDF file
    """

    exit_code = 2


class InputError(SgpredictError, ValueError):
    """Bad input data: a file, a structure or a setting."""


class ModelError(SgpredictError, RuntimeError):
    """A model file that is missing, damaged or does not fit its card."""
