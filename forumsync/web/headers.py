"""Security headers on every answer of the web app.

The dashboard needs nothing from elsewhere: its CSS is a file of its own, its charts are
inline SVG, it runs no script. So the Content-Security-Policy allows only same-origin styles
and images, no script at all, forms posting only to itself, and no framing (clickjacking).
"""
from __future__ import annotations

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def register(app, web_url: str) -> None:
    https = web_url.lower().startswith("https://")

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":  # dashboard pages hold queue contents: never cached
            headers.setdefault("Cache-Control", "no-store")
        return response
