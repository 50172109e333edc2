"""Regenerate docs/screenshots/*.png: the console's main pages in real Chromium.

Runs the browser test that writes them (tests/console/test_browser.py), on the console
test world, over a real SQLite store, served on loopback. Needs Debian's chromium
(or DAYBREAK_CHROMIUM) and the dev dependencies:

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    env = {**os.environ, "DAYBREAK_SCREENSHOTS": str(args.out.resolve())}
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "tests/console/test_browser.py", "-k", "write_screenshots",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, env=env, check=False)
    if done.returncode == 0:
        for png in sorted(args.out.glob("*.png")):
            print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
