"""Outbound HTTP in a user's tests: respx mocks what the worker fetches (`workers.fetch`,
`js.fetch`, `pyodide.http.pyfetch`, `open_url`), and `outbound="deny"` fails a test whose worker
tries to reach the network, naming the URL. Run through pytester, as a user runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ANYIO_CONFTEST, user_project, user_tests
from http_target import http_target

from miniflare_py.pytest_plugin import _denied_message

WRANGLER = 'name = "quotes"\nmain = "worker.py"\n'

WORKER = """\
from urllib.parse import parse_qs, urlparse

import js
from pyodide.http import open_url, pyfetch
from workers import Response, WorkerEntrypoint, fetch


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        target = parse_qs(url.query).get("url", ["https://api.example.com/quote"])[0]
        if url.path == "/workers-fetch":
            upstream = await fetch(target, method="POST", body="q")
            return Response(await upstream.text(), status=upstream.status)
        if url.path == "/js-fetch":
            upstream = await js.fetch(target)
            return Response(await upstream.text(), status=upstream.status)
        if url.path == "/pyfetch":
            upstream = await pyfetch(target)
            return Response(await upstream.string(), status=upstream.status)
        if url.path == "/open-url":
            return Response(open_url(target).read())
        if url.path == "/swallow":
            try:
                await fetch(target)
            except Exception as error:  # a worker that hides network failures
                return Response(f"offline: {type(error).__name__}")
            return Response("online")
        return Response("not found", status=404)
"""


@pytest.fixture(scope="module")
def local_url() -> Iterator[str]:
    with http_target() as url:
        yield url


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    return user_project(pytester, WRANGLER, WORKER, conftest=ANYIO_CONFTEST)


def test_respx_mocks_every_outbound_path(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_mocked=user_tests(
            """
            @pytest.mark.anyio
            @pytest.mark.parametrize("path", ["/workers-fetch", "/js-fetch", "/pyfetch"])
            async def test_async_paths(pyflare, respx_mock, path):
                route = respx_mock.route(host="api.example.com", path="/quote")
                route.respond(200, text="a quote")
                response = await pyflare.fetch(path)
                assert (response.status, await response.text()) == (200, "a quote")
                assert route.call_count == 1


            @pytest.mark.anyio
            async def test_the_request_the_worker_sent(pyflare, respx_mock):
                route = respx_mock.post("https://api.example.com/quote").respond(201, text="ok")
                response = await pyflare.fetch("/workers-fetch")
                assert response.status == 201
                assert route.calls.last.request.content == b"q"


            def test_open_url_in_a_sync_test(pyflare_sync, respx_mock):
                respx_mock.get("https://api.example.com/quote").respond(200, text="sync")
                assert pyflare_sync.fetch("/open-url").text() == "sync"


            @pytest.mark.anyio
            @pytest.mark.pyflare(outbound="deny")
            async def test_mocked_requests_pass_under_deny(pyflare, respx_mock):
                respx_mock.get("https://api.example.com/quote").respond(200, text="fine")
                assert await (await pyflare.fetch("/js-fetch")).text() == "fine"
            """
        )
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=6)


def test_unmocked_requests_reach_the_network_by_default(
    project: pytest.Pytester, local_url: str
) -> None:
    project.makepyfile(
        test_allow=user_tests(
            f"""
            @pytest.mark.anyio
            async def test_real_request(pyflare):
                response = await pyflare.fetch("/js-fetch?url={local_url}/echo")
                assert response.status == 200
                assert '"path": "/echo"' in await response.text()


            @pytest.mark.anyio
            @pytest.mark.pyflare(outbound="allow")
            async def test_pass_through_route(pyflare, respx_mock):
                respx_mock.route(host="127.0.0.1").pass_through()
                response = await pyflare.fetch("/workers-fetch?url={local_url}/echo")
                assert '"method": "POST"' in await response.text()
            """
        )
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_deny_fails_an_unmocked_request_naming_the_url(
    project: pytest.Pytester, local_url: str
) -> None:
    project.makepyfile(
        test_deny=user_tests(
            f"""
            pytestmark = pytest.mark.pyflare(outbound="deny")


            @pytest.mark.anyio
            async def test_worker_sees_a_network_error(pyflare):
                response = await pyflare.fetch("/swallow?url={local_url}/hidden")
                assert await response.text() == "offline: AbortError"


            @pytest.mark.anyio
            async def test_error_reaches_the_test(pyflare):
                await pyflare.fetch("/pyfetch?url={local_url}/raised")


            @pytest.mark.anyio
            async def test_pass_through_is_still_refused(pyflare, respx_mock):
                respx_mock.route(host="127.0.0.1").pass_through()
                await pyflare.fetch("/js-fetch?url={local_url}/passed")


            def test_sync(pyflare_sync):
                pyflare_sync.fetch("/open-url?url={local_url}/sync")


            @pytest.mark.anyio
            async def test_no_request_passes(pyflare):
                assert (await pyflare.fetch("/nowhere")).status == 404
            """
        )
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=4)
    out = result.stdout.str()
    for path in ("hidden", "raised", "passed", "sync"):
        assert f"  {local_url}/{path}" in out, path
    result.stdout.fnmatch_lines(
        [
            "*test_worker_sees_a_network_error*",
            'pyflare: outbound="deny", and the worker sent requests no respx route mocks:',
            f"  {local_url}/hidden",
            "mock them (respx_mock.get(url).respond(...)) or allow the network with "
            '@pytest.mark.pyflare(outbound="allow")',
        ]
    )
    # The worker got a network failure that names the refused URL, as fetch() reports one.
    result.stdout.fnmatch_lines(
        [f"*AbortError*outbound request to {local_url}/raised refused*outbound=*deny*"]
    )


def test_unknown_outbound_option_is_one_clear_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_typo=user_tests(
            """
            @pytest.mark.pyflare(outbound="block")
            def test_typo(pyflare_sync):
                pass
            """
        )
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*outbound='block'): expected 'allow' or 'deny'*"])


def test_the_readme_shows_the_message_as_it_is() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"```\n{_denied_message(['https://example.com/'])}\n```" in readme
