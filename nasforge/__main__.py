"""``python -m nasforge`` runs the ``nasforge`` command line."""

from nasforge.cli.main import main

raise SystemExit(main())
