"""Sub-commands of the `fastdigits` command line, one module each.

A module here defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; :mod:`fastdigits.cli` finds them by itself.
"""
