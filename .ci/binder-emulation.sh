#!/usr/bin/env bash
# Binder's build of this repository, emulated step by step as repo2docker runs it (there is no Docker engine in CI):
#
#   .ci/binder-emulation.sh VENV PYTHON      e.g. .ci/binder-emulation.sh /ci/binder python3.14 (from the repo root)
#
# 1. Binder's base environment: repo2docker's conda buildpack installs a frozen conda-forge lock for the Python of
#    binder/runtime.txt. Its top-level packages are installed here from PyPI at the lock's versions, with the lock's
#    pip, into a fresh virtual environment. (Source: jupyterhub/repo2docker, commit 808ae6bb (2026-08-21),
#    repo2docker/buildpacks/conda/environment.py-3.14.yml and environment.py-3.14-linux-64.lock, frozen on
#    2025-10-16. The lock's Python is conda-forge's 3.14.0; this uses the PYTHON given, Debian's 3.14.)
# 2. repo2docker's step for binder/requirements.txt (buildpacks/python/__init__.py, _get_pip_scripts): with local
#    references (-r ../requirements.txt, -e .) it runs after the whole repository is copied, from the repository
#    root: ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt".
#    pip exits 0 even when its resolver leaves a conflict ("ERROR: pip's dependency resolver does not currently take
#    into account ..."), so any ERROR line in its output fails this step.
# 3. pip check: the image is consistent.
# 4. Lesson 00 runs in that environment (jupyter nbconvert --execute): no error output, and its setup report ends
#    with "Ready".
set -euo pipefail
VENV=${1:?usage: .ci/binder-emulation.sh VENV PYTHON}
PYTHON=${2:?usage: .ci/binder-emulation.sh VENV PYTHON}
# Binder's base environment for Python 3.14: the lock's pip and top-level packages (environment.py-3.14.yml lists
# python, nodejs, pip, ipywidgets, jupyter-offlinenotebook, jupyter-resource-usage, jupyter_server,
# jupyterhub-singleuser (jupyterhub-base on conda-forge, jupyterhub on PyPI), jupyterlab, notebook; ipykernel is
# pulled in by them and pinned by the lock too). nodejs is not a Python package and plays no part in pip's resolution.
LOCK_PIP=pip==25.2
LOCK_PACKAGES=(jupyterlab==4.4.9 notebook==7.4.7 jupyter_server==2.17.0 ipykernel==7.0.1 ipywidgets==8.1.7
  jupyter-resource-usage==1.2.0 jupyterhub==5.4.0 jupyter-offlinenotebook==0.3.2)

version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
if [ "$version" != 3.14 ]; then
  echo "these are the versions of Binder's Python 3.14 lock; for Python $version take them from repo2docker's" \
    "repo2docker/buildpacks/conda/environment.py-$version-linux-64.lock" >&2
  exit 1
fi

start=$SECONDS
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "$LOCK_PIP"
"$VENV/bin/python" -m pip install -q "${LOCK_PACKAGES[@]}"
echo "1. Binder's base environment: $("$VENV/bin/python" -V), $LOCK_PIP ${LOCK_PACKAGES[*]} ($((SECONDS - start)) s)"

start=$SECONDS
log=$(mktemp)
if ! "$VENV/bin/pip" install --no-cache-dir -r "binder/requirements.txt" > "$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
grep -E -A4 '^(ERROR|WARNING)' "$log" || true
if grep -q '^ERROR' "$log"; then
  echo "binder/requirements.txt: pip reported an ERROR in Binder's environment (above)" >&2
  exit 1
fi
versions=$("$VENV/bin/python" -m pip list --format=freeze | grep -Ei '^(jupyterlab|notebook|jupyter_server|ipykernel)==' | tr '\n' ' ')
echo "2. pip install -r binder/requirements.txt: no resolver error ($((SECONDS - start)) s); now $versions"

"$VENV/bin/python" -m pip check
echo "3. pip check: consistent"

start=$SECONDS
out=$(mktemp -d)
"$VENV/bin/python" -m jupyter nbconvert --to notebook --execute --output-dir "$out" \
  notebooks/00_welcome_and_setup.ipynb 2>&1 | tail -1
"$VENV/bin/python" - "$out/00_welcome_and_setup.ipynb" <<'PY'
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
errors = [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"]
assert not errors, f"lesson 00 printed errors in Binder's environment: {errors}"
text = "".join("".join(o.get("text", o.get("data", {}).get("text/plain", ""))) for o in outputs)
assert "Ready: every lesson of the course can run here." in text, f"lesson 00's setup report is not ready:\n{text}"
print(text[: text.index("Ready")].rstrip())
PY
echo "4. lesson 00 ran in Binder's environment ($((SECONDS - start)) s)"
rm -rf "$out" "$log"
