"""Security headers on every response.

The content security policy allows only this origin: no CDN, no inline script or style, so an injected
`<script>` or `style=` attribute does nothing even if escaping ever failed. Photos previewed before upload
are `blob:` URLs. The session cookie's flags (HttpOnly, SameSite=Lax, Secure unless the loopback
development server turns it off) are Flask settings, set in create_app.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.wrappers import Response as BaseResponse

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def register(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages and JSON hold health data: keep them out of shared caches and the back-button cache after
        # logout. Static files and photos set their own Cache-Control.
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


def forget_cached_pages(response: BaseResponse) -> BaseResponse:
    """The response that ends a session: the browser drops its HTTP cache of this site (Clear-Site-Data).

    Pages and photos are already sent no-store; this also drops anything an older version let it keep.
    """
    response.headers["Clear-Site-Data"] = '"cache"'
    return response
