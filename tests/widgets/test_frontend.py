"""The front end: vitest unit tests and the TypeScript check pass, the bundle is
self-contained (no CDN), and the package build puts it in the wheel."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
STATIC = ROOT / "pt_widgets" / "static"


def npx(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert shutil.which("npx"), "Node.js/npm is needed for the front end (Node 20+)."
    assert (JS / "node_modules").is_dir(), "Run `npm --prefix js ci` first (.ci/install does)."
    return subprocess.run(["npx", "--no-install", *args], cwd=JS, capture_output=True,
                          text=True, timeout=timeout)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_vitest_unit_tests_pass():
    done = npx("vitest", "run", "--reporter=dot")
    out = ANSI.sub("", done.stdout + done.stderr)  # CI=true makes vitest colour its output
    assert done.returncode == 0, out[-4000:]
    passed = re.search(r"Tests\s+(\d+) passed", out)
    assert passed and int(passed.group(1)) >= 40, out[-2000:]
    assert "failed" not in out.split("Tests", 1)[-1].splitlines()[0]


def test_typescript_type_checks():
    done = npx("tsc", "--noEmit", "-p", ".")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_bundle_is_built_and_self_contained():
    js = (STATIC / "widget.js").read_text()
    css = (STATIC / "widget.css").read_text()
    assert "export" in js and len(js) < 150_000
    # no CDN or any remote import: everything is bundled
    assert not re.search(r"""(import\(|from\s*)["']https?://""", js)
    assert "https://" not in css and "http://" not in css
    assert "--jp-layout-color1" in css and "--jp-ui-font-color0" in css  # follows the theme


def test_the_wheel_contains_the_bundle(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    wheel = next(tmp_path.glob("pt_widgets-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pt_widgets/static/widget.js", "pt_widgets/static/widget.css"} <= names
