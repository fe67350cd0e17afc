"""Subcommands of the ``diffpy.sgpredict`` command.

Each module defines ``register(subparsers)``; the modules are listed in
the ``diffpy.sgpredict.commands`` entry-point group of ``setup.cfg``.
They import the heavy parts of the package inside the function that
runs the command, so that ``diffpy.sgpredict --help`` starts quickly.
"""

from dataclasses import fields

from diffpy.sgpredict.errors import InputError

__all__ = ["as_option_error"]


def as_option_error(exc, settings_class):
    """Say a settings dataclass's error in terms of the command's option.

    The settings dataclasses (``TrainSettings``, ``StructureFilter``)
    start their messages with the attribute's name; on the command line
    the user wrote an option, so ``lr must be positive`` becomes
    ``--lr must be positive``.

    Examples
    --------
    >>> from diffpy.sgpredict.training import TrainSettings
    >>> str(as_option_error(InputError("lr must be positive"), TrainSettings))
    '--lr must be positive'
    """
    name, _, rest = str(exc).partition(" ")
    if name in {f.name for f in fields(settings_class)}:
        return InputError(f"--{name.replace('_', '-')} {rest}")
    return exc
