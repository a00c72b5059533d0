"""binder/badge.py: the README's Binder badge follows where the course is published, and opens a real lesson."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("badge", ROOT / "binder" / "badge.py")
assert spec and spec.loader
badge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(badge)


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("https://github.com/acme/course", "https://mybinder.org/v2/gh/acme/course/HEAD"),
        ("https://github.com/acme/course.git", "https://mybinder.org/v2/gh/acme/course/HEAD"),
        ("git@github.com:acme/mp-course.git", "https://mybinder.org/v2/gh/acme/mp-course/HEAD"),
        ("ssh://git@github.com/acme/course", "https://mybinder.org/v2/gh/acme/course/HEAD"),
        ("https://gitlab.com/acme/course.git", "https://mybinder.org/v2/gl/acme%2Fcourse/HEAD"),
        # GitLab projects in nested groups: BinderHub's GitLab provider builds them from the escaped full path
        ("https://gitlab.com/acme/teaching/course", "https://mybinder.org/v2/gl/acme%2Fteaching%2Fcourse/HEAD"),
        (
            "git@gitlab.com:acme/teaching/2026/course.git",
            "https://mybinder.org/v2/gl/acme%2Fteaching%2F2026%2Fcourse/HEAD",
        ),
    ],
)
def test_a_public_remote_gets_a_badge_that_opens_lesson_00(remote: str, url: str) -> None:
    assert badge.binder_url(remote) == url + "?urlpath=lab/tree/notebooks/00_welcome_and_setup.ipynb"
    assert url in badge.badge(remote)


@pytest.mark.parametrize(
    "remote",
    [None, "/srv/git/course.git", "https://example.org/acme/course", "file:///x", "https://github.com/acme/course/x"],
)
def test_no_public_remote_means_no_link(remote: str | None) -> None:
    assert badge.binder_url(remote or "") is None
    assert "mybinder.org/v2" not in badge.badge(remote) and "no Binder link" in badge.badge(remote)


def test_the_readme_block_is_what_the_remote_gives_and_its_lesson_exists() -> None:
    block = badge.readme_block((ROOT / "README.md").read_text())
    assert block is not None, "README.md lost its binder-badge markers"
    target = re.search(r"urlpath=lab/tree/([\w/.-]+\.ipynb)", badge.badge("https://github.com/a/b"))
    assert target and (ROOT / target.group(1)).is_file(), "the badge must open an existing lesson"
    remote = badge.origin()
    if remote is not None and badge.binder_url(remote) is not None:
        assert block == badge.badge(remote), f"the course is published at {remote}: run python binder/badge.py --write"
    else:
        assert block == badge.badge(None), "no public remote here, so the README must not show a Binder link"


def test_write_refuses_a_remote_binder_cannot_build(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        badge.main(["https://example.org/acme/course", "--write"])
    assert "not a GitHub or GitLab repository" in capsys.readouterr().err
