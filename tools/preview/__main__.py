"""`python -m tools.preview`: see tools/preview/cli.py."""

from tools.preview.cli import main

raise SystemExit(main())
