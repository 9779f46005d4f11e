"""`python -m tools.smoke`: see tools/smoke/__init__.py."""

from tools.smoke.cli import main

raise SystemExit(main())
