#!/usr/bin/env bash
# The README's "Start the course" block for Linux, run exactly as the README writes it, as a new student would:
#
#   .ci/readme-start.sh SID      (as root, from the repository root; SID: the chroot of .ci/newest-pythons.sh)
#
# The block is taken from README.md between the <!-- start-linux --> and <!-- /start-linux --> markers, so a change
# of its text changes what runs here. It runs in the Debian unstable chroot (python3 is Python 3.14 there), as an
# unprivileged user ("student", made here if missing) with a clean environment (env -i: HOME, PATH, LANG only), in a
# fresh clone of this repository, with `bash -e` (a failing line stops it). Its last line starts JupyterLab, which
# stays up; this script then checks, with the token JupyterLab printed:
#   - the first page answers (GET /lab); the page JupyterLab opens in the browser leads to lesson 00
#     (/lab/tree/notebooks/00_welcome_and_setup.ipynb, which answers), and the contents API has the notebook;
#   - the file browser starts at the course's folder: README.md and src/helpers are reachable;
# and runs lesson 00 top to bottom in the student's environment (jupyter nbconvert --execute): no error output, and
# its setup report ends with "Ready". It prints the first five minutes' times: the install (from the block's start
# to pip's "Successfully installed"), JupyterLab's first page after that, and lesson 00's Run All.
set -euo pipefail
SID=${1:?usage: .ci/readme-start.sh SID}
ROOT=$(pwd)
START='<!-- start-linux -->' END='<!-- /start-linux -->'
block=$(awk -v s="$START" -v e="$END" '$0 == s {on = 1; next} $0 == e {on = 0} on' README.md |
  awk '/^```/ {fence = !fence; next} fence')
if [ -z "$block" ]; then
  echo "README.md has no bash block between $START and $END" >&2
  exit 1
fi
printf 'The README block, run as written:\n%s\n' "$block" | sed 's/^/  | /'

chroot "$SID" id -u student >/dev/null 2>&1 || chroot "$SID" useradd --create-home --shell /bin/bash student
uid=$(chroot "$SID" id -u student) gid=$(chroot "$SID" id -g student)
home="$SID/home/student"
rm -rf "$home/course" "$home/readme" "$home/.cache" "$home/.local" "$home/.jupyter"  # a new student each time
git clone -q "$ROOT" "$home/course"     # the committed state of this checkout, as a student's clone has it
mkdir -p "$home/readme"
printf '%s\n' "$block" > "$home/readme/start.sh"
cat > "$home/readme/check.py" <<'PY'
"""Wait for the JupyterLab the block started; check what it serves; print the times (run as the student)."""
import json, re, sys, time, urllib.request
from pathlib import Path

log_path, t0, block = sys.argv[1], float(sys.argv[2]), sys.argv[3]


def block_ended() -> bool:
    """The block's shell has exited (a line failed, or JupyterLab stopped): gone, or a zombie not yet reaped."""
    try:
        return Path(f"/proc/{block}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


installed = url = None
deadline = time.time() + 900
while time.time() < deadline:
    text = open(log_path, errors="replace").read()
    if installed is None and "Successfully installed" in text:
        installed = time.time()
    found = re.search(r"(http://(?:127\.0\.0\.1|localhost):\d+)/\S*\?token=(\w+)", text)
    if found and url is None:
        url, token = found.groups()
    if url:
        try:
            with urllib.request.urlopen(f"{url}/lab?token={token}", timeout=5) as page:
                if page.status == 200:
                    break
        except OSError:
            pass
    if block_ended():
        sys.exit(f"the README block ended before JupyterLab answered; its output:\n{open(log_path).read()[-3000:]}")
    time.sleep(0.2)
else:
    sys.exit(f"JupyterLab did not answer within 900 s; the block's output:\n{open(log_path).read()}")
first_page = time.time()
print(f"install (venv and pip install -r requirements.txt): {installed - t0:.0f} s")
print(f"JupyterLab's first page after the install: {first_page - installed:.1f} s ({url})")


def contents(path):
    request = urllib.request.Request(f"{url}/api/contents/{path}?content=0", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


# What the student's browser is sent to: JupyterLab writes a page that redirects to the file it was given.
opener = list(Path.home().glob(".local/share/jupyter/runtime/jpserver-file-to-run-*-open.html"))
assert opener, "JupyterLab wrote no page that opens lesson 00"
target = re.search(r'(?:href="|url=)(http[^"]+)', opener[0].read_text())
assert target and "/lab/tree/notebooks/00_welcome_and_setup.ipynb?token=" in target.group(1), opener[0].read_text()
with urllib.request.urlopen(target.group(1), timeout=10) as page:
    assert page.status == 200
print(f"the browser is opened at {target.group(1).split('?')[0]}")
lesson = contents("notebooks/00_welcome_and_setup.ipynb")
assert lesson["type"] == "notebook", lesson
print(f"served: {lesson['path']} (a {lesson['type']})")
for path, kind in [("README.md", "file"), ("src/helpers", "directory")]:
    item = contents(path)
    assert item["type"] == kind, item
    print(f"reachable in JupyterLab's file browser: {item['path']} (a {item['type']})")
PY
cat > "$home/readme/lesson00.py" <<'PY'
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
errors = [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"]
assert not errors, f"lesson 00 printed errors: {errors}"
text = "".join("".join(o.get("text", o.get("data", {}).get("text/plain", ""))) for o in outputs)
assert "Ready: every lesson of the course can run here." in text, f"lesson 00's setup report is not ready:\n{text}"
print(text[: text.index("Ready")].rstrip())
PY
chown -R "$uid:$gid" "$home/course" "$home/readme"

cat > "$SID/readme-run.sh" <<'INNER'
set -euo pipefail
as_student() { setpriv --reuid=student --regid=student --init-groups env -i HOME=/home/student \
  PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"; }
cd /home/student/course
t0=$(date +%s.%N)
# the block in a session of its own (setsid), so that its process group can be stopped at the end; not through
# as_student, a function, whose background job would be a subshell with another PID
setpriv --reuid=student --regid=student --init-groups env -i HOME=/home/student PATH=/usr/local/bin:/usr/bin:/bin \
  LANG=C.UTF-8 setsid bash -e /home/student/readme/start.sh > /home/student/readme/block.log 2>&1 &
block=$!
stop() {  # JupyterLab shuts down on SIGTERM; SIGKILL if it has not after 20 s
  kill -TERM -- "-$block" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 -- "-$block" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$block" 2>/dev/null || true
  wait "$block" 2>/dev/null || true
}
trap stop EXIT
as_student python3 /home/student/readme/check.py /home/student/readme/block.log "$t0" "$block"
start=$(date +%s.%N)
as_student .venv/bin/python -m jupyter nbconvert --to notebook --execute --output-dir /home/student/readme \
  notebooks/00_welcome_and_setup.ipynb > /home/student/readme/nbconvert.log 2>&1 ||
  { cat /home/student/readme/nbconvert.log; exit 1; }
echo "lesson 00 Run All (jupyter nbconvert --execute, kernel start included): $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s"
as_student python3 /home/student/readme/lesson00.py /home/student/readme/00_welcome_and_setup.ipynb
INNER
unshare --mount sh -c "
  mount --bind '$SID' '$SID' &&
  mount -t proc proc '$SID/proc' &&
  mount --rbind /sys '$SID/sys' &&
  mount -t tmpfs -o mode=1777 tmpfs '$SID/dev/shm' &&
  exec chroot '$SID' env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 bash /readme-run.sh"
echo "the README's Linux block works as written: JupyterLab serves lesson 00 with the course's folder, and lesson 00 runs"
