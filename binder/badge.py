"""The README's Binder badge, derived from where the course is published: its git remote.

    python binder/badge.py            # print the badge for `git remote get-url origin`
    python binder/badge.py --write    # put it into README.md, between the binder-badge markers
    python binder/badge.py --write https://github.com/OWNER/REPO   # for a remote not named origin

mybinder.org builds a public GitHub or GitLab repository; the badge opens lesson 00 in JupyterLab there. With no
such remote (a local copy, a private server), the README says so instead of showing a link that cannot work.
The remote is the one place to change: after `git remote add origin https://github.com/OWNER/REPO`, run this with
``--write`` and commit README.md (tests/test_binder_badge.py checks that the README and the remote agree).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LESSON = "notebooks/00_welcome_and_setup.ipynb"
START, END = "<!-- binder-badge -->", "<!-- /binder-badge -->"
#: git remote URLs mybinder.org can build: https, ssh (scp-like) or ssh:// forms of GitHub and GitLab. A GitHub
#: repository is OWNER/REPO; a GitLab project may sit in nested groups (GROUP/SUBGROUP/.../PROJECT), which
#: BinderHub's GitLab provider builds from its URL-escaped full path (its docs: spec
#: ``<url-escaped-namespace>/<unresolved_ref>``).
REMOTE = re.compile(
    r"^(?:https://|ssh://git@|git@)(?P<host>github\.com|gitlab\.com)[/:](?P<slug>[\w.-]+(?:/[\w.-]+?)+)(?:\.git)?/?$"
)
PROVIDERS = {"github.com": "gh", "gitlab.com": "gl"}
UNPUBLISHED = (
    "**Binder:** this copy of the course is not on a public GitHub or GitLab repository, so it has no Binder link "
    "yet. Maintainers: see [Publishing](#publishing)."
)


def binder_url(remote: str) -> str | None:
    """The mybinder.org URL that opens lesson 00 of the repository at ``remote``, or None if Binder cannot build it."""
    match = REMOTE.match(remote.strip())
    if match is None:
        return None
    provider, slug = PROVIDERS[match["host"]], match["slug"]
    if provider == "gh" and slug.count("/") != 1:
        return None  # GitHub has no nested owners: github.com/OWNER/REPO/more is not a repository
    if provider == "gl":
        slug = slug.replace("/", "%2F")  # mybinder.org's GitLab form: the whole path, groups included, one segment
    return f"https://mybinder.org/v2/{provider}/{slug}/HEAD?urlpath=lab/tree/{LESSON}"


def badge(remote: str | None) -> str:
    """The README block for ``remote``: a badge with its link, or the sentence saying there is none."""
    url = binder_url(remote) if remote else None
    body = f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})" if url else UNPUBLISHED
    return f"{START}\n{body}\n{END}"


def origin() -> str | None:
    """``git remote get-url origin`` of this checkout, or None (no git, no such remote)."""
    try:
        done = subprocess.run(
            ["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def readme_block(text: str) -> str | None:
    """The badge block currently in the README text, markers included, or None."""
    match = re.search(re.escape(START) + r".*?" + re.escape(END), text, flags=re.S)
    return match.group(0) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python binder/badge.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("remote", nargs="?", help="the repository's URL (default: git remote get-url origin)")
    parser.add_argument("--write", action="store_true", help="put the badge into README.md")
    args = parser.parse_args(argv)
    remote = args.remote or origin()
    if args.remote and binder_url(args.remote) is None:
        parser.error(f"{args.remote!r} is not a GitHub or GitLab repository URL that mybinder.org can build")
    block = badge(remote)
    if not args.write:
        print(block)
        return 0
    text = README.read_text()
    current = readme_block(text)
    if current is None:
        parser.error(f"README.md has no {START} ... {END} block to replace")
    README.write_text(text.replace(current, block))
    published = remote is not None and binder_url(remote) is not None
    print(f"README.md: the Binder badge for {remote}" if published else "README.md: no Binder link (no public remote)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
