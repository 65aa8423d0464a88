"""`python scripts/year_end_export.py --year 2026 --out DIR [--force]`: the treasurer's year-end pack.

The same command as `kracht export year-end` (the same code, checks, progress bar and summary), for
those who run scripts rather than the `kracht` command.
"""

from __future__ import annotations

import sys

from coop.cli import app

if __name__ == "__main__":
    app(["export", "year-end", *sys.argv[1:]], prog_name="year_end_export.py")
