"""What templates call on every page, made cheap: paths built once, and repeated pieces rendered once.

A patient's page is mostly the same chrome (two tab bars with their icons, the help link) and, on
Today, the same mood scale; rendering them anew for every request was a third of the page's time.
"""

from flask import Flask
from markupsafe import Markup

CACHE_SIZE = 10_000


def init_app(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = memoized_url_for(app)
    app.jinja_env.globals["remember"] = remembering()


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
