"""Security headers on every response, whatever answered it (a route, an error handler,
a static file, a 404).

- ``X-Content-Type-Options: nosniff``: a browser never reads a JSON body that quotes
  report text as HTML or script;
- ``Referrer-Policy: no-referrer``: URLs carry report ids, and the embed page's address
  can carry a token in its fragment; no page of ours tells another site where it was;
- ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` unless the
  route set its own (the demo, docs and embed pages do, and keep theirs): a JSON or problem
  body opened directly, or framed by another site, can run and load nothing;
- ``Cache-Control: no-store`` on answers to an authenticated caller (stored PHI), unless
  the route chose its own caching: no shared cache or browser disk keeps them.
"""

from __future__ import annotations

from flask import Flask, Response, g

DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"


def install(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        if g.get("principal") is not None:
            headers.setdefault("Cache-Control", "no-store")
        return response
