"""The pages in the reader's language: a complete Hindi catalogue, the language chosen from Accept-Language
or the switcher, dates and numbers in the locale's format, and a Hindi session that meets no English.

"No English" is checked against the message catalogue (no English text of it shows on a Hindi page) and,
for texts never marked for translation, by the script: no Latin-letter word outside a short list of names
(file formats, the product, the language switcher's own "English").
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import dates
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from scalpcheck.errors import ERRORS
from scalpcheck.web.extensions import db
from scalpcheck.web.language import COOKIE, LANGUAGES
from scalpcheck.web.models import Assessment
from tests.helpers.photos import jpeg_bytes, phantom, phantom_jpeg

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "src" / "scalpcheck" / "web" / "translations"
HINDI = {"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.5"}
# Latin-letter words a Hindi page may show: names of formats and of the product, not English prose.
NAMES = {"scalpcheck", "JPEG", "PNG", "WebP", "PDF", "API", "JSON", "OpenAPI", "MB", "UTC", "English"}
# What a page shows a reader: text, and these attributes (data-text-*, data-hint-*: the scripts' messages).
SHOWN_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "data-confirm", "data-error", "label"}


@pytest.fixture
def app(published_models, make_app):
    return make_app()


def catalogue(language: str = "hi"):
    with open(CATALOGUE / language / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=language)


def test_every_marked_text_has_a_translation_and_the_compiled_catalogue_is_current(tmp_path):
    """Extracts the texts from the source as `make messages` does; fails on any without a translation."""
    template = tmp_path / "messages.pot"
    subprocess.run(["make", "-s", "messages", f"POT={template}"], cwd=ROOT, check=True, capture_output=True)
    with open(template, "rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    assert len(wanted) > 250  # every page, error, advice text and the report
    for language in set(LANGUAGES) - {"en"}:
        po = catalogue(language)
        translated = {
            m.id
            for m in po
            if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
        }
        missing = sorted(str(i) for i in wanted - translated)
        assert not missing, f"{len(missing)} texts lack a {language} translation: {missing[:10]}"
        problems = [(m.id, errors) for m, errors in po.check()]
        assert not problems, problems[:5]  # placeholders of each translation match its English
        # A template's _() is trusted markup: a '"' of a translation's own would end an attribute early.
        quoted = [m.id for m in po if m.id and '"' in str(m.string) and '"' not in str(m.id)]
        assert not quoted, quoted
        with open(CATALOGUE / language / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
        written = {_key(m.id): _key(m.string) for m in po if m.id and m.id in wanted}
        stale = [i for i, s in written.items() if compiled.get(i) != s]
        assert not stale, f"messages.mo is older than messages.po: run `make translations` ({stale[:3]})"


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


class _Shown(HTMLParser):
    """The texts a page shows, outside scripts, styles and elements marked translate="no"."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self._skip or tag in ("script", "style") or attributes.get("translate") == "no":
            if tag not in ("input", "img", "meta", "link", "br"):
                self._skip.append(tag)
            return
        for name, value in attrs:
            if value and (name in SHOWN_ATTRIBUTES or name.startswith(("data-text-", "data-hint-"))):
                self.texts.append(value)
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.texts.append(attributes["value"])

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def shown_text(html: str, username: str) -> str:
    parser = _Shown()
    parser.feed(html)
    # {name} places in the script's messages are filled in by app.js, not read.
    return re.sub(r"\{\w+\}", " ", "\n".join(parser.texts)).replace(username, " ")


def english_fragments() -> list[str]:
    """Each English text of the catalogue cut at its placeholders and tags: the pieces of several words."""
    pieces = set()
    for message in catalogue():
        for english in message.id if isinstance(message.id, tuple) else [message.id]:
            for piece in re.split(r"%\(\w+\)[sd]|\{\w+\}|<[^>]+>|%%", english or ""):
                piece = piece.strip(" .,:;()“”\"'")
                if len(piece.split()) >= 2 and re.search("[A-Za-z]{3}", piece):
                    pieces.add(piece)
    return sorted(pieces)


def assert_no_english(page, name: str, username: str) -> None:
    html = page.get_data(as_text=True)
    assert '<html lang="hi"' in html, name
    text = shown_text(html, username)
    leaked = [piece for piece in english_fragments() if piece in text]
    assert not leaked, f"{name}: English of the catalogue on a Hindi page: {leaked[:5]}"
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if w not in NAMES}
    assert not words, f"{name}: Latin-letter words on a Hindi page: {sorted(words)[:20]}"


def post_photo(client, url: str, data: bytes, **extra):
    form = {"image": (io.BytesIO(data), "photo.jpg"), **extra}
    return client.post(url, data=form, content_type="multipart/form-data", headers=HINDI)


def test_a_hindi_session_meets_no_english_on_any_page_of_the_flow(app, client, bad_photo):
    username = "asha"
    pages = {}
    get = lambda url: client.get(url, headers=HINDI)  # noqa: E731
    pages["register"] = get("/auth/register")
    pages["register refused"] = client.post(
        "/auth/register", data={"username": "a", "password": "short", "confirm": "other"}, headers=HINDI
    )
    assert (
        client.post(
            "/auth/register",
            data={
                "username": username,
                "password": "correct horse battery",
                "confirm": "correct horse battery",
            },
            headers=HINDI,
        ).status_code
        == 303
    )
    pages["login, with the account-ready message"] = get("/auth/login")
    pages["login refused"] = client.post(
        "/auth/login", data={"username": username, "password": "wrong password"}, headers=HINDI
    )
    client.post(
        "/auth/login", data={"username": username, "password": "correct horse battery"}, headers=HINDI
    )
    pages["home"] = get("/")
    pages["upload"] = get("/assess/hairloss")
    for kind in ("blurry", "dark", "small", "text"):
        pages[f"upload refused ({kind})"] = post_photo(client, "/assess/hairloss", bad_photo(kind)[2])
    first = post_photo(client, "/assess/hairloss", phantom_jpeg("hairloss", "stage_1", seed=31))
    second = post_photo(client, "/assess/hairloss", phantom_jpeg("hairloss", "stage_3", seed=32))
    assert first.status_code == second.status_code == 303
    pages["result"] = get(first.headers["Location"])
    pages["result with its change"] = get(second.headers["Location"])
    scalp = post_photo(client, "/assess/scalp", phantom_jpeg("scalp", "psoriasis", seed=33))
    pages["scalp result"] = get(scalp.headers["Location"])
    pages["visit form"] = get("/visit/hairloss")
    visit = client.post(
        "/visit/hairloss",
        data={
            "image": [
                (io.BytesIO(phantom_jpeg("hairloss", "stage_2", seed=34)), "a.jpg"),
                (io.BytesIO(bad_photo("blurry")[2]), "b.jpg"),
            ],
            "region": ["crown", "front"],
        },
        content_type="multipart/form-data",
        headers=HINDI,
    )
    assert visit.status_code == 303
    pages["visit, with a photo not used"] = get(visit.headers["Location"])
    pages["visit refused"] = client.post(
        "/visit/hairloss",
        data={
            "image": [
                (io.BytesIO(bad_photo("dark")[2]), "a.jpg"),
                (io.BytesIO(bad_photo("small")[2]), "b.jpg"),
            ]
        },
        content_type="multipart/form-data",
        headers=HINDI,
    )
    pages["history"] = get("/history?task=hairloss")
    pages["history of the scalp"] = get("/history?task=scalp")
    ids = [int(r.headers["Location"].rsplit("/", 1)[1]) for r in (first, second)]
    pages["compare"] = get(f"/history/compare?first=a{ids[0]}&second=a{ids[1]}")
    pages["account"] = get("/account")
    pages["export"] = get("/account/export")
    pages["account refused"] = client.post("/account/delete", data={"password": "wrong"}, headers=HINDI)
    pages["not found"] = get("/assessments/999999")
    pages["offline"] = get("/offline")
    report = get("/history/hairloss/report.pdf")
    client.post("/auth/logout", headers=HINDI)
    pages["logged out"] = get("/auth/login")
    for name, page in pages.items():
        assert page.status_code < 500, name
        assert_no_english(page, name, username)
    with app.app_context():
        models = {
            name
            for row in db.session.scalars(select(Assessment))
            for name in (row.model_version, row.model_backbone)
        }
    assert_report_in_hindi(report.data, [username, *models])


def assert_report_in_hindi(pdf: bytes, names: list[str]) -> None:
    """The doctor's report: drawn in Devanagari, with no English word. (pdftotext reads shaped Devanagari
    back only in part, so the Hindi is checked by its script, the English by its absence.)"""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run `make poppler` (Debian's poppler-utils)")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for name in names:  # the user's and the models' names
        text = text.replace(name, " ")
    assert len(re.findall("[\u0900-\u097f]", text)) > 500, text[:300]
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if w not in NAMES}
    assert not words, f"Latin-letter words in the Hindi report: {sorted(words)[:20]}"


def test_the_language_follows_the_browser_and_the_switcher_remembers_it(client):
    assert '<html lang="hi"' in client.get("/auth/login", headers=HINDI).text
    assert {"Accept-Language", "Cookie"} <= set(client.get("/offline").vary)  # no cache mixes languages
    assert "लॉग इन करें" in client.get("/auth/login", headers=HINDI).text
    for header in ("en-GB,en;q=0.8", "fr-FR", "*", ""):
        page = client.get("/auth/login", headers={"Accept-Language": header})
        assert '<html lang="en"' in page.text and "Log in" in page.text, header
    switched = client.post("/language", data={"lang": "hi", "next": "/auth/register"})
    assert switched.status_code == 303 and switched.headers["Location"] == "/auth/register"
    assert f"{COOKIE}=hi" in switched.headers["Set-Cookie"] and "Max-Age" in switched.headers["Set-Cookie"]
    # Remembered over what the browser asks for.
    assert '<html lang="hi"' in client.get("/auth/login", headers={"Accept-Language": "en"}).text
    assert "अंग्रेज़ी" not in client.get("/auth/login").text  # each language in its own name
    back = client.post("/language", data={"lang": "en", "next": "//elsewhere.example/"})
    assert back.headers["Location"] == "/"  # never a redirect off the site
    assert '<html lang="en"' in client.get("/auth/login", headers=HINDI).text
    ignored = client.post("/language", data={"lang": "xx", "next": "/auth/login"})
    assert "Set-Cookie" not in ignored.headers or f"{COOKIE}=" not in ignored.headers["Set-Cookie"]


def test_dates_and_numbers_follow_the_locale(app, client, auth):
    auth.signup()
    client.post(
        "/assess/hairloss",
        data={"image": (io.BytesIO(phantom_jpeg("hairloss", "stage_2", seed=41)), "p.jpg")},
        content_type="multipart/form-data",
    )
    with app.app_context():
        row = db.session.scalars(select(Assessment)).one()
    url = f"/assessments/{row.id}"
    hindi, english = client.get(url, headers=HINDI).text, client.get(url).text
    assert dates.format_datetime(row.created_at, "dd MMM y, HH:mm", locale="hi") in hindi
    assert f"{row.created_at:%d %b %Y, %H:%M}" in english
    month = dates.get_month_names("abbreviated", locale="hi")[row.created_at.month]
    assert month in hindi and month != f"{row.created_at:%b}"
    assert f"{row.confidence:.0%}" in hindi  # whole percentages, written alike in both


def test_the_api_answers_in_english_whatever_the_language(client, auth):
    auth.signup()
    token = client.post("/api/v1/tokens", auth=("alice", auth.password)).get_json()["token"]
    response = client.post(
        "/api/v1/assessments",
        data={"task": "scalp"},
        headers={**HINDI, "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == ERRORS["missing_image"].message


def test_the_advice_in_hindi_is_written_from_the_same_result(app, client, auth):
    auth.signup()
    client.post(
        "/assess/scalp",
        data={"image": (io.BytesIO(jpeg_bytes(phantom("scalp", "alopecia", seed=42))), "p.jpg")},
        content_type="multipart/form-data",
    )
    with app.app_context():
        row = db.session.scalars(select(Assessment)).one()
    page = client.get(f"/assessments/{row.id}", headers=HINDI).text
    po = {m.id: m.string for m in catalogue() if m.id}
    for english in row.advice["recommendations"]:
        assert po[english] in page  # each recommendation, translated
    assert po[row.advice["disclaimer"]] in page


def test_the_check_finds_english_where_there_is_some(client):
    """The check above is not vacuous: on the English page (claimed to be Hindi) it finds the catalogue's
    English, and a text nobody marked for translation by its Latin letters."""
    page = client.get("/auth/login")
    page.set_data(page.get_data(as_text=True).replace('<html lang="en"', '<html lang="hi"'))
    with pytest.raises(AssertionError, match="English of the catalogue"):
        assert_no_english(page, "login in English", "nobody")
    hindi = client.get("/auth/login", headers=HINDI)
    hindi.set_data(hindi.get_data(as_text=True).replace("</main>", "<p>Unmarked words</p></main>"))
    with pytest.raises(AssertionError, match="Latin-letter words"):
        assert_no_english(hindi, "login with an unmarked text", "nobody")
