"""The bundled rules, profiles and report template travel inside the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_wheel_scores_the_bundled_partners(tmp_path: Path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = wheels.glob("latticework-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    bundled = {p.name for p in (ROOT / "rules").glob("*.yaml")}
    in_wheel = {n.rsplit("/", 1)[1] for n in names if n.startswith("engine/bundled/rules/")}
    assert bundled <= in_wheel
    assert "engine/templates/report.html.j2" in names
    profiles = sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import engine, json; from engine import Engine; "
            "print(engine.__file__); e = Engine.load(); b = e.batch(every_snapshot=True); "
            "print(json.dumps(sorted(r.profile for r in b.results)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env,
                         capture_output=True, text=True, check=True)
    where, keys = out.stdout.splitlines()
    assert where.startswith(str(target))  # the installed copy, not the source tree
    assert keys == str(profiles).replace("'", '"')
