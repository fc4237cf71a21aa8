"""What the distribution ships: its name, license, type hints, changelog and version."""

from __future__ import annotations

import re
from importlib.metadata import metadata, version
from importlib.resources import files
from pathlib import Path

import miniflare_py

ROOT = Path(__file__).resolve().parent.parent


def test_the_distribution_is_miniflare_py_with_an_spdx_license() -> None:
    meta = metadata("miniflare-py")
    assert meta["Name"] == "miniflare-py"
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    assert version("miniflare-py") == miniflare_py.__version__


def test_the_license_file() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} the pyflare authors$", text, re.MULTILINE)


def test_the_package_is_typed() -> None:
    assert files("miniflare_py").joinpath("py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'miniflare_py = ["py.typed", ' in pyproject  # shipped in the wheel too


def test_the_local_explorer_page_ships_in_the_package() -> None:
    static = files("miniflare_py.explorer").joinpath("static")
    for name in ("index.html", "explorer.js", "explorer.css", "favicon.svg"):
        assert static.joinpath(name).is_file(), name
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"explorer/static/*"' in pyproject  # package data: in the wheel too


def test_the_changelog_keeps_an_unreleased_section_and_the_first_release() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[(.+?)\]", text, re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert headings[-1] == "0.1.0"
    assert f"## [{miniflare_py.__version__}] - " in text
