"""Subcommands of the ``diffpy.sgpredict`` command.

Each module defines ``register(subparsers)``; the modules are listed in
the ``diffpy.sgpredict.commands`` entry-point group of ``setup.cfg``.
They import the heavy parts of the package inside the function that
runs the command, so that ``diffpy.sgpredict --help`` starts quickly.
"""
