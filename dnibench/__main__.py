"""``python -m dnibench``: the same entry point as the ``dnibench`` script."""

from dnibench.cli import main

raise SystemExit(main())
