"""The Local Explorer: `pyflare dev`'s browser UI at `/cdn-cgi/local/explorer` and its JSON API
(DESIGN.md section 11).

- `api`: the routes (page, API, OpenAPI document, redirect from `/cdn-cgi/explorer`);
- `paths`: where the explorer answers (the server routes by it before importing the rest);
- `openapi`: the OpenAPI 3.1 document, made from the endpoint declarations;
- `local`: the worker's own view (invocations, crons, logs, the live snapshot);
- `views/`: one view per binding type, named by `BindingType.explorer_view`;
- `trace`: invocations with their binding calls and log lines, recorded only while the
  explorer is in use;
- `static/`: the page (HTML, CSS, JavaScript; no build step, nothing from a CDN).

The engine never imports this package: the runtime only calls `Miniflare.tracer` when one is set.
"""
