"""Static files by content: versioned URLs and imports, compression, the worker precaching exactly those URLs."""

import gzip
import re

import brotli
import pytest

from aftercare.pwa.assets import Assets

JS_IMPORT = re.compile(r'from "\./sync\.js\?v=([0-9a-f]{10})"')


def asset(app, name):
    with app.app_context():
        return app.extensions["aftercare_assets"].get(name)


def test_pages_link_versioned_files_that_are_cached_for_a_year(client, people):
    from tests.conftest import Auth

    Auth(client).login(people.patient)
    page = client.get("/home").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{10})"', page)[1]
    response = client.get(css)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers  # document headers stay on documents
    assert client.get("/static/css/app.css").headers["Cache-Control"] == "no-cache"  # unversioned: revalidated
    assert client.get("/static/css/app.css?v=0000000000").headers["Cache-Control"] == "no-cache"  # an old version


def test_module_imports_carry_the_version_of_what_they_import(app):
    sync = asset(app, "js/sync.js")
    app_js = asset(app, "js/app.js").body.decode()
    assert JS_IMPORT.search(app_js)[1] == sync.version
    assert f'import "./outbox.js?v={asset(app, "js/outbox.js").version}"' in sync.body.decode()


def test_a_change_to_an_import_changes_the_importers_version(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text('import { b } from "./b.js";\n')
    (tmp_path / "js" / "b.js").write_text("export const b = 1;\n")
    first = Assets(str(tmp_path)).get("js/a.js").version
    (tmp_path / "js" / "b.js").write_text("export const b = 2;\n")
    assert Assets(str(tmp_path)).get("js/a.js").version != first


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [("gzip, deflate, br", "br"), ("gzip", "gzip"), ("", None), ("identity", None), ("br;q=1.0, gzip;q=0.8", "br")],
)
def test_text_is_sent_compressed_to_browsers_that_accept_it(client, app, accept, encoding):
    css = asset(app, "css/app.css")
    response = client.get(css.url, headers={"Accept-Encoding": accept})
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.data
    plain = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[encoding](body)
    assert plain == css.body


def test_images_are_not_compressed_again(client, app):
    png = asset(app, "icons/icon-192.png")
    response = client.get(png.url, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers
    assert response.mimetype == "image/png"


def test_an_unchanged_file_answers_304(client, app):
    css = asset(app, "css/app.css")
    first = client.get(css.url, headers={"Accept-Encoding": "gzip"})
    again = client.get(css.url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("path", ["/static/../config.py", "/static/%2e%2e/config.py", "/static/nothing.js"])
def test_nothing_outside_the_static_folder_is_served(client, path):
    assert client.get(path).status_code == 404


def test_the_worker_precaches_exactly_the_versioned_urls_and_names_its_version(client, app):
    response = client.get("/sw.js", headers={"Accept-Encoding": ""})
    text = response.data.decode()
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    for name in ("css/app.css", "js/app.js", "js/sync.js", "js/outbox.js", "js/mood.js", "js/inbox.js"):
        assert f'"{asset(app, name).url}"' in text, name
    assert f'importScripts("{asset(app, "js/outbox.js").url}")' in text
    assert re.search(r'const VERSION = "[0-9a-f]{10}";', text)
    static_paths = re.findall(r'"(/static/[^"]+)"', text)
    assert static_paths and all("?v=" in path for path in static_paths)  # nothing cached twice under two names


def test_the_pages_the_worker_keeps_are_compressed_only_when_nobody_is_signed_in(client, people):
    from tests.conftest import Auth

    signed_out = client.get("/crisis", headers={"Accept-Encoding": "gzip"})
    assert signed_out.headers.get("Content-Encoding") == "gzip"
    assert b"Help right now" in gzip.decompress(signed_out.data)
    Auth(client).login(people.patient)
    signed_in = client.get("/crisis", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in signed_in.headers  # it carries a CSRF token now: never compressed (BREACH)


def test_pages_with_someones_data_are_never_compressed(client, people):
    from tests.conftest import Auth

    Auth(client).login(people.patient)
    home = client.get("/home", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in home.headers
    assert home.headers["Cache-Control"] == "no-store"
