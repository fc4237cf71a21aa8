"""Static assets: html_handling and not_found_handling as Cloudflare documents them, the
router in front of the worker, ETags, .assetsignore, env.ASSETS, and paths that try to climb
out of the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.assets import AssetsConfig, AssetServer
from miniflare_py.config import ConfigError, load_config

pytestmark = pytest.mark.anyio


def no_headers(name: str) -> str | None:
    return None


def headers_of(**values: str):  # type: ignore[no-untyped-def]
    lowered = {k.replace("_", "-").lower(): v for k, v in values.items()}
    return lambda name: lowered.get(name)


def make_site(root: Path) -> Path:
    (root / "folder").mkdir(parents=True)
    (root / "file.html").write_text("file page")
    (root / "folder" / "index.html").write_text("folder page")
    (root / "data.json").write_text('{"key": "value", "number": 42}')
    (root / "hello.txt").write_text("hello from static assets\n")
    return root


def server(root: Path, **options: object) -> AssetServer:
    return AssetServer(AssetsConfig(root, "ASSETS", **options), "2025-06-01")  # type: ignore[arg-type]


def answer(site: AssetServer, path: str) -> tuple[int, str]:
    response = site.respond("GET", path, "", no_headers)
    if response.status == 307:
        return 307, dict(response.headers)["location"]
    return response.status, response.read().decode()


# The tables of Cloudflare's "HTML handling" page (dist/file.html, dist/folder/index.html): what
# each path answers under auto-trailing-slash, force-trailing-slash and drop-trailing-slash.
# Where the page shows a redirect that redirects again (/folder.html -> /folder -> /folder/),
# the asset worker Cloudflare runs sends the final URL at once, and so does pyflare.
MODES = ("auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash")
HTML_HANDLING = {
    "/file": ((200, "file page"), (307, "/file/"), (200, "file page")),
    "/file.html": ((307, "/file"), (307, "/file/"), (307, "/file")),
    "/file/": ((307, "/file"), (200, "file page"), (307, "/file")),
    "/file/index": ((307, "/file"), (307, "/file/"), (307, "/file")),
    "/file/index.html": ((307, "/file"), (307, "/file/"), (307, "/file")),
    "/folder": ((307, "/folder/"), (307, "/folder/"), (200, "folder page")),
    "/folder.html": ((307, "/folder/"), (307, "/folder/"), (307, "/folder")),
    "/folder/": ((200, "folder page"), (200, "folder page"), (307, "/folder")),
    "/folder/index": ((307, "/folder/"), (307, "/folder/"), (307, "/folder")),
    "/folder/index.html": ((307, "/folder/"), (307, "/folder/"), (307, "/folder")),
}


@pytest.mark.parametrize("mode", range(len(MODES)), ids=MODES)
@pytest.mark.parametrize("path", HTML_HANDLING)
def test_html_handling(tmp_path: Path, path: str, mode: int) -> None:
    # auto-trailing-slash is the default: that column is checked without naming it
    options = {"html_handling": MODES[mode]} if mode else {}
    assert answer(server(make_site(tmp_path), **options), path) == HTML_HANDLING[path][mode]


def test_none_serves_exact_names_only(tmp_path: Path) -> None:
    site = server(make_site(tmp_path), html_handling="none")
    assert answer(site, "/file.html") == (200, "file page")
    assert answer(site, "/file")[0] == 404
    assert answer(site, "/folder/")[0] == 404


def test_not_found_handling(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    (root / "404.html").write_text("top 404")
    (root / "folder" / "404.html").write_text("folder 404")
    (root / "index.html").write_text("app shell")
    assert answer(server(root), "/missing") == (404, "")
    pages = server(root, not_found_handling="404-page")
    assert answer(pages, "/missing") == (404, "top 404")
    assert answer(pages, "/folder/deep/missing") == (404, "folder 404")
    spa = server(root, not_found_handling="single-page-application")
    assert answer(spa, "/some/client/route") == (200, "app shell")


def test_headers_etag_and_conditional_requests(tmp_path: Path) -> None:
    site = server(make_site(tmp_path))
    first = site.respond("GET", "/data.json", "", no_headers)
    headers = dict(first.headers)
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "public, max-age=0, must-revalidate"
    etag = headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert site.respond("GET", "/data.json", "", headers_of(if_none_match=etag)).status == 304
    weak = headers_of(if_none_match=f"W/{etag}")
    assert site.respond("GET", "/data.json", "", weak).status == 304
    assert site.respond("GET", "/data.json", "", headers_of(if_none_match='"x"')).status == 200
    private = dict(site.respond("GET", "/data.json", "", headers_of(authorization="x")).headers)
    assert "cache-control" not in private
    text = dict(site.respond("GET", "/hello.txt", "", no_headers).headers)
    assert text["content-type"] == "text/plain; charset=utf-8"
    head = site.respond("HEAD", "/hello.txt", "", no_headers)
    assert (
        head.status == 200 and head.read() == b"" and dict(head.headers)["content-length"] == "25"
    )
    assert site.respond("POST", "/hello.txt", "", no_headers).status == 405
    assert site.respond("GET", "/file.html", "a=1", no_headers).headers == [
        ("location", "/file?a=1")
    ]


def test_an_edited_file_gets_a_new_etag_and_new_files_appear_on_refresh(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    site = server(root)
    before = dict(site.respond("GET", "/hello.txt", "", no_headers).headers)["etag"]
    (root / "hello.txt").write_text("changed")
    os.utime(root / "hello.txt", ns=(1, 1))
    after = site.respond("GET", "/hello.txt", "", no_headers)
    assert after.read() == b"changed" and dict(after.headers)["etag"] != before
    (root / "new.txt").write_text("new")
    assert site.respond("GET", "/new.txt", "", no_headers).status == 404
    site.refresh()
    assert site.respond("GET", "/new.txt", "", no_headers).read() == b"new"


def test_assetsignore(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    (root / ".assetsignore").write_text("*.secret\nprivate/\n!keep.secret\n")
    (root / "a.secret").write_text("s")
    (root / "keep.secret").write_text("k")
    (root / "private").mkdir()
    (root / "private" / "x.txt").write_text("p")
    (root / "_headers").write_text("/*\n  X: y\n")
    (root / "_redirects").write_text("/a /b\n")
    site = server(root)
    for path in ("/a.secret", "/private/x.txt", "/.assetsignore", "/_headers", "/_redirects"):
        assert site.respond("GET", path, "", no_headers).status == 404, path
    assert site.respond("GET", "/keep.secret", "", no_headers).read() == b"k"


SECRET = b"TOP SECRET outside the assets folder"


@pytest.fixture
def guarded(tmp_path: Path) -> AssetServer:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = make_site(tmp_path / "public")
    (root / "link-out.txt").symlink_to(tmp_path / "secret.txt")
    (root / "dir-out").symlink_to(tmp_path, target_is_directory=True)
    (root / "inside-link.txt").symlink_to(root / "hello.txt")
    return server(root, not_found_handling="404-page")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/folder/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/folder/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/folder\\..\\..\\secret.txt",
        "//secret.txt",
        "/" + str(Path("/").resolve()) + "etc/passwd",
        "/etc/passwd",
        "/link-out.txt",
        "/dir-out/secret.txt",
        "/dir-out/public/hello.txt",
        "/%00/secret.txt",
        "/secret.txt%00.html",
    ],
)
def test_no_path_leaves_the_assets_folder(guarded: AssetServer, path: str) -> None:
    for method in ("GET", "HEAD"):
        response = guarded.respond(method, path, "", no_headers)
        assert response.status in (307, 404), (path, response.status)
        assert SECRET not in response.read()
        if response.status == 307:
            location = dict(response.headers)["location"]
            follow = guarded.respond(method, location, "", no_headers)
            assert SECRET not in follow.read()


def test_a_symlink_inside_the_folder_is_served(guarded: AssetServer) -> None:
    assert guarded.respond("GET", "/inside-link.txt", "", no_headers).read().startswith(b"hello")


def test_router_asset_or_worker(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    (root / "index.html").write_text("shell")
    site = server(root, not_found_handling="single-page-application")
    assert site.goes_to_assets("GET", "/hello.txt", no_headers)
    assert site.goes_to_assets("GET", "/file.html", no_headers)  # a redirect is the assets'
    assert site.goes_to_assets("POST", "/hello.txt", no_headers)  # 405 from the assets
    assert not site.goes_to_assets("GET", "/api/x", no_headers)  # a miss: the worker
    navigate = headers_of(sec_fetch_mode="navigate")
    assert site.goes_to_assets("GET", "/app/route", navigate)  # the SPA shell
    old = AssetServer(
        AssetsConfig(root, None, not_found_handling="single-page-application"), "2024-01-01"
    )
    assert not old.goes_to_assets("GET", "/app/route", navigate)
    first = server(root, run_worker_first=True)
    assert not first.goes_to_assets("GET", "/hello.txt", no_headers)
    routed = server(root, run_worker_first=("/api/*", "!/api/docs/*"))
    assert not routed.goes_to_assets("GET", "/api/x", no_headers)
    assert routed.goes_to_assets("GET", "/api/docs/missing", no_headers)
    assert routed.goes_to_assets("GET", "/hello.txt", no_headers)


def test_config(tmp_path: Path) -> None:
    make_site(tmp_path / "public")
    config = write_worker(
        tmp_path,
        "",
        '[assets]\ndirectory = "./public/"\nbinding = "ASSETS"\nrun_worker_first = ["/api/*"]\n'
        '[env.staging]\n[env.own]\n[env.own.assets]\ndirectory = "public"\n',
    )
    top = load_config(config).binding("assets")
    assert top.directory == (tmp_path / "public").resolve() and top.binding == "ASSETS"
    assert top.run_worker_first == ("/api/*",)
    assert load_config(config, env="staging").binding("assets") == top  # inherited
    assert load_config(config, env="own").binding("assets").binding is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            'directory = "missing"',
            r'assets.directory = "missing": the folder .*missing does not exist',
        ),
        ("binding = 'A'", r'assets is missing required key "directory"'),
        (
            'directory = "public"\nhtml_handling = "auto"',
            r'assets.html_handling = "auto" is not one of',
        ),
        (
            'directory = "public"\nnot_found_handling = "spa"',
            r"not_found_handling = \"spa\" is not one",
        ),
        ('directory = "public"\nrun_worker_first = ["api/*"]', r"must start with /"),
        ('directory = "public"\nrun_worker_first = 3', r"must be true, false or an array"),
    ],
)
def test_config_errors(tmp_path: Path, section: str, message: str) -> None:
    (tmp_path / "public").mkdir()
    config = write_worker(tmp_path, "", f"[assets]\n{section}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(config)


async def test_env_assets_fetch_as_the_sdk_tests_use_it(tmp_path: Path) -> None:
    make_site(tmp_path / "public")
    source = """
    from workers import Response

    async def on_fetch(request, env):
        return await env.ASSETS.fetch(request)
    """
    config = write_worker(
        tmp_path,
        source,
        '[assets]\ndirectory = "./public/"\nbinding = "ASSETS"\nrun_worker_first = true\n',
    )
    async with Miniflare(config) as mf:
        assets = mf.env.ASSETS
        text = await (await assets.fetch("https://assets.local/hello.txt")).text()
        assert text.strip() == "hello from static assets"
        data = await (await assets.fetch("https://assets.local/data.json")).json()
        assert data["key"] == "value" and data["number"] == 42
        assert (await assets.fetch("https://assets.local/nonexistent.txt")).status == 404
        typed = await assets.fetch("https://assets.local/data.json")
        assert "application/json" in typed.headers.get("content-type")
        through_worker = await mf.fetch("/hello.txt")
        assert (await through_worker.text()).startswith("hello from static")
        assert mf.assets.folder == (tmp_path / "public").resolve()


@pytest.mark.parametrize("worker_first", [False, True])
async def test_mf_fetch_serves_assets_before_the_worker_as_the_edge_does(
    tmp_path: Path, worker_first: bool
) -> None:
    make_site(tmp_path / "public")
    source = """
    from workers import Response

    async def on_fetch(request, env):
        return Response("from the worker")
    """
    first = "run_worker_first = true\n" if worker_first else ""
    config = write_worker(tmp_path, source, f'[assets]\ndirectory = "./public/"\n{first}')
    async with Miniflare(config) as mf:
        hit = await (await mf.fetch("/hello.txt")).text()
        miss = await (await mf.fetch("/api/nothing-here")).text()
    assert hit == ("from the worker" if worker_first else "hello from static assets\n")
    assert miss == "from the worker"
