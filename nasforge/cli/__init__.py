"""The ``nasforge`` command. One module per sub-command.

Convention: ``nasforge/cli/<command>.py`` defines ``register(subparsers) -> None`` which adds its
parser and sets ``func=run`` (``run(args) -> int``, the exit status). ``nasforge.cli.main`` lists
the command modules; a :class:`nasforge.errors.NasforgeError` escaping ``run`` is printed as one line
and exits with status 2.
"""
