"""/manifest.webmanifest, /sw.js and /offline.

The service worker keeps only the app shell (style, script, icons, the offline page): files that are the
same for every visitor. Pages, photos and the API hold health data and always come from the network.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Response, current_app, jsonify, render_template, url_for
from flask_babel import gettext

from scalpcheck.web.install import bp
from scalpcheck.web.language import language

SHELL_FILES = ("app.css", "app.js", "camera.js", "favicon.svg", "icon-192.png", "icon-512.png")
THEME_COLOUR = "#0f766e"
BACKGROUND_COLOUR = "#f4f6f8"


@bp.route("/manifest.webmanifest")
def manifest():
    icons = [
        {
            "src": url_for("static", filename=f"icon-{px}.png"),
            "sizes": f"{px}x{px}",
            "type": "image/png",
            "purpose": "any maskable",
        }  # full-bleed, the mark inside the maskable safe zone
        for px in (192, 512)
    ]
    response = jsonify(
        name="scalpcheck",
        short_name="scalpcheck",
        description=gettext(
            "Photograph your scalp, get an estimate of its condition and hair loss, follow it."
        ),
        lang=language(),
        start_url=url_for("main.home"),
        scope="/",
        display="standalone",
        theme_color=THEME_COLOUR,
        background_color=BACKGROUND_COLOUR,
        icons=icons,
    )
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker():
    # Served from the root, not /static, so that its scope is the whole site.
    # The offline page in the language the worker was installed in (a new choice installs a new worker).
    offline = url_for("install.offline", lang=language())
    shell = [url_for("static", filename=name) for name in SHELL_FILES] + [offline]
    version = f"{shell_version()}-{language()}"
    body = render_template("install/sw.js", version=version, shell=shell, offline=offline)
    # no-cache: the browser asks for a newer worker on every visit instead of keeping this one a day.
    return Response(body, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.route("/offline")
def offline():
    response = Response(render_template("install/offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.app_context_processor
def colours() -> dict:
    return {"theme_colour": THEME_COLOUR}


def shell_version() -> str:
    static, templates = Path(current_app.static_folder or ""), Path(current_app.root_path, "templates")
    parts = [static / name for name in SHELL_FILES]
    parts += [templates / "base.html", templates / "install" / "offline.html"]
    # Keyed on the files' times too: a style or script edited while the server runs gets a new name.
    return _digest(tuple((path, path.stat().st_mtime_ns) for path in parts))


@cache
def _digest(parts: tuple[tuple[Path, int], ...]) -> str:
    # A new shell (a changed style or script) is a new cache name: the worker drops the old copy.
    digest = hashlib.sha256()
    for path, _ in parts:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
