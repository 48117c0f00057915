#!/usr/bin/env bash
# Release check: build the sdist and the wheel, check them with twine, then install the wheel
# into a fresh virtual environment OUTSIDE the source tree and run `matfit demo` and the
# installed package's doctests there, so that nothing can come from the checkout.
#
#   tools/check_wheel.sh            # needs `build` and `twine`: pip install -e '.[release]'
#
# Everything goes to a temporary folder that is removed at the end; the checkout is not written.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/matfit-wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# the build reads the checkout; its build/ and *.egg-info scratch are left alone if present
"$PY" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || {
    tail -40 "$WORK/build.log"; echo "check_wheel: python -m build failed"; exit 1; }
"$PY" -m twine check --strict "$WORK"/dist/*

"$PY" - "$ROOT" "$WORK"/dist/* <<'PYEOF'
"""The artefacts carry one version, the embedded data and the licence; the wheel only the package."""
import re, sys, tarfile, zipfile
from pathlib import Path

root, files = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
version = re.search(r'^__version__ = "([^"]+)"', (root / "src/matfit/__init__.py").read_text(),
                    re.M).group(1)
wheel = next(p for p in files if p.suffix == ".whl")
sdist = next(p for p in files if p.name.endswith(".tar.gz"))
assert wheel.name.startswith(f"matfit-{version}-"), (wheel.name, version)
assert sdist.name == f"matfit-{version}.tar.gz", (sdist.name, version)
names = zipfile.ZipFile(wheel).namelist()
for need in ("matfit/data/digits.npz", "matfit/py.typed", "matfit/data/__init__.py"):
    assert need in names, f"{need} is not in {wheel.name}"
assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE not in the wheel"
stray = [n for n in names if not (n.startswith("matfit/") or ".dist-info/" in n)]
assert not stray, f"the wheel carries files outside the package: {stray[:5]}"
meta = zipfile.ZipFile(wheel).read(f"matfit-{version}.dist-info/METADATA").decode()
assert f"Version: {version}" in meta and "Project-URL: Documentation" in meta
assert "Classifier: Programming Language :: Python :: 3" in meta
members = tarfile.open(sdist).getnames()
for need in ("CHANGELOG.md", "LICENSE", "docs/conf.py", "tests/test_docs.py", "examples/README.md"):
    assert f"matfit-{version}/{need}" in members, f"{need} is not in {sdist.name}"
print(f"check_wheel: {wheel.name} ({len(names)} files) and {sdist.name} ({len(members)} files)")
PYEOF

"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q "$WORK"/dist/*.whl
cd "$WORK"  # outside the source tree: `import matfit` can only find the installed wheel
"$WORK/venv/bin/matfit" demo --json >"$WORK/demo.out" 2>"$WORK/demo.err" || {
    tail -20 "$WORK/demo.out" "$WORK/demo.err"; echo "check_wheel: matfit demo failed"; exit 1; }
"$WORK/venv/bin/python" -c "import json, sys; s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print('check_wheel: matfit demo ran', sorted(s.get('parts', s)))" "$WORK/demo.out"
"$WORK/venv/bin/python" "$ROOT/tools/run_doctests.py" --require-prefix "$WORK/venv"
echo "check_wheel: OK"
