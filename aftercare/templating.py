"""What templates call on every page, made cheap: paths built once, and repeated pieces rendered once.

A patient's page is mostly the same chrome (two tab bars with their icons, the help link) and, on
Today, the same mood scale; rendering them anew for every request was a third of the page's time.
"""

import time

from flask import Flask
from flask import session
from flask_wtf.csrf import generate_csrf
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from .safety import CRISIS_PATTERNS

CACHE_SIZE = 10_000
# A page's CSRF token is re-signed at most this often per session (flask-wtf signs anew on every
# page otherwise); the token's lifetime (WTF_CSRF_TIME_LIMIT, an hour) shortens by at most this.
CSRF_REUSE_SECONDS = 60


def init_app(app: Flask) -> None:
    """Register the cheap helpers (after CSRFProtect.init_app, whose csrf_token this one replaces)."""
    app.jinja_env.globals["url_for"] = memoized_url_for(app)
    app.jinja_env.globals["remember"] = remembering()
    app.jinja_env.globals["macros"] = macro_module(app)
    # What crisis.js matches a note against before sending it (also offline), as the pages with a
    # note embed it: the same JSON `|tojson` would write, made once rather than on every page.
    app.jinja_env.globals["crisis_patterns_json"] = htmlsafe_json_dumps(CRISIS_PATTERNS, dumps=app.json.dumps)
    token = reused_csrf_token(app)
    app.context_processor(lambda: {"csrf_token": token})


def macro_module(app: Flask):
    """Return `macros(name)`: a macro template's module, made once (and again when the template is reloaded).

    A template's own `{% macro %}`s are made anew on every render, each closing over the others, a
    reference cycle that only the garbage collector frees: on Today that was a hundred objects a
    page and a collection every eight pages. `{% from ... import %}` avoids that but, given the
    page's context, compares the two templates' globals on every render. The chrome and Today's
    pieces are therefore read as `{% set chrome = macros('_macros/chrome.html') %}`.
    """
    environment = app.jinja_env

    def macros(name: str):
        return environment.get_template(name).module

    return macros


def memoized_url_for(app: Flask):
    """Return a url_for for templates that remembers the paths it built (a page builds about thirty).

    A path depends only on the endpoint and its values in one deployment; external URLs (which
    depend on the request's scheme and host) are built every time, as is anything unhashable.
    """
    cache: dict = {}
    build = app.url_for

    def url_for_(endpoint: str, **values) -> str:
        if "_external" in values or "_scheme" in values:
            return build(endpoint, **values)
        try:
            key = (endpoint, *sorted(values.items()))
            return cache[key]
        except KeyError:
            url = build(endpoint, **values)
            if len(cache) < CACHE_SIZE:
                cache[key] = url
            return url
        except TypeError:
            return build(endpoint, **values)

    return url_for_


def remembering():
    """Return `remember(macro, *args)`: the macro's HTML, rendered once per distinct arguments.

    Only for macros whose output depends on their arguments alone (no request, user or CSRF
    token inside): `{{ remember(tab_bar, current_place, unread) }}`. A macro is known by its
    compiled body, so two templates' macros of the same name never share an entry, and a
    template reloaded in development starts afresh. Unhashable arguments render every time.
    """
    cache: dict = {}

    def remember(macro, *args) -> Markup:
        try:
            key = (getattr(macro, "_func", macro).__code__, args)
            return cache[key]
        except KeyError:
            html = macro(*args)
            if len(cache) < CACHE_SIZE:
                cache[key] = html
            return html
        except (TypeError, AttributeError):
            return macro(*args)

    return remember


def reused_csrf_token(app: Flask):
    """Return a csrf_token() for templates that signs a session's token once a minute, not on every page.

    The token is flask-wtf's own (`generate_csrf`), checked by flask-wtf as before; a signed copy is
    reused while it is under a minute old, for the same session token only.
    """
    cache: dict[str, tuple[str, float]] = {}
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")

    def csrf_token() -> str:
        now = time.monotonic()
        raw = session.get(field)
        if raw is not None:
            hit = cache.get(raw)
            if hit is not None and now - hit[1] < CSRF_REUSE_SECONDS:
                return hit[0]
        token = generate_csrf()
        raw = session.get(field)
        if raw is None:  # a token made earlier in this request, before the session was replaced
            return token
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[raw] = (token, now)
        return token

    return csrf_token
