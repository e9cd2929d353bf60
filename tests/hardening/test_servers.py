"""Real servers: gunicorn with its workers on loopback, under bad requests, brute force, SIGKILL, concurrent
writers, a minute of load, and a database restart in the middle of it.

These start servers (slow) and run one after another on one xdist worker: they measure a process's memory
and count its workers, which a second server load beside them would only blur.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import threading
import time
from base64 import b64encode
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from scalpcheck.web.extensions import app_state
from tests.helpers.http import CHANNELS, multipart, new_uploader
from tests.helpers.photos import jpeg_bytes, phantom, phantom_jpeg
from tests.helpers.servers import Reply
from tests.helpers.storage import assert_consistent, store_state, stored_files
from tests.helpers.uploads import ACCEPTED, UPLOADS
from tests.helpers.web import PASSWORD

pytestmark = [pytest.mark.hardening, pytest.mark.slow, pytest.mark.xdist_group("hardening_servers")]

# Load from one loopback address must not be throttled by the API limit; the limits have their own test.
UNLIMITED = {
    name: "1000000 per minute"
    for name in ("RATELIMIT_API", "RATELIMIT_LOGIN", "RATELIMIT_REGISTER", "RATELIMIT_TOKENS")
}
# What is guessed, where it goes, and how many guesses a minute each address is allowed in that test.
BRUTE_FORCE = {
    "login": ("/auth/login", 5),
    "api-token": ("/api/v1/tokens", 5),
    "bearer-guessing": ("/api/v1/assessments", 20),
}
SOAK_SECONDS = 60
SOAK_CLIENTS = 8
WARM_UP_SECONDS = 15  # sessions warm, pools filled, allocator arenas grown: memory is measured from here
RSS_GROWTH_MAX_MB = 40  # per worker, from the end of the warm-up to the end of the soak
POSTGRES_RESTART_AT = 20  # seconds into the soak
AFTER_RESTART_GRACE = 5  # seconds in which requests that met the dead database may still fail


def basic(username: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + b64encode(f"{username}:{password}".encode()).decode()}


def sign_up(server, username: str) -> dict:
    """Register `username` over HTTP; returns the Authorization header of a new API token."""
    body = urlencode({"username": username, "password": PASSWORD, "confirm": PASSWORD}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert server.request("POST", "/auth/register", body=body, headers=form).status == 303
    reply = server.request("POST", "/api/v1/tokens", headers=basic(username))
    assert reply.status == 201, reply.body
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def upload(server, headers: dict, photo: bytes, task: str = "scalp", **kwargs):
    body, content_type = multipart(("image", "photo.jpg", photo), ("task", task))
    return server.request(
        "POST", "/api/v1/assessments", body=body, headers={**headers, "Content-Type": content_type}, **kwargs
    )


def raw_exchange(base_url: str, data: bytes, close_after_send: bool = False) -> bytes:
    """Send raw bytes on a new connection; what came back (b"" when the sender hangs up first).

    A server may answer and close before it has read everything (a body over the limit): what it said
    before closing still counts.
    """
    parts = urlsplit(base_url)
    chunks = []
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        try:
            conn.sendall(data)
            if close_after_send:
                return b""
            conn.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


# --------------------------------------------------------------------------------- bad requests on the wire
def test_bad_requests_never_take_a_worker_down(gunicorn, random_models, tally):
    """Every bad upload of tests/helpers/uploads.py and the malformed HTTP a scanner sends, through real
    workers."""
    server = gunicorn(UNLIMITED, env={"MAX_UPLOAD_MB": "2"})
    workers = server.workers()
    headers = sign_up(server, "alice")
    accepted = 0
    for kind, (expected, make) in UPLOADS.items():
        reply = upload(server, headers, make(phantom(seed=5)))
        tally.tried("bad_input", kind)
        if expected is ACCEPTED:
            assert reply.status == 201, (kind, reply.body[:300])
            accepted += 1
        else:
            assert (reply.status, reply.json()["error"]["code"]) == expected, kind

    photo = phantom(seed=6)
    chunked_body, content_type = multipart(("image", "p.jpg", b"\0" * 5 * 2**20), ("task", "scalp"))
    chunked = (
        b"POST /api/v1/assessments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + f"Authorization: {headers['Authorization']}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        + b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in _pieces(chunked_body, 2**16))
        + b"0\r\n\r\n"
    )
    announced = (
        b"POST /api/v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
        + f"Authorization: {headers['Authorization']}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        + chunked_body[:20_000]
    )
    many_headers = b"".join(b"X-%d: y\r\n" % i for i in range(500))
    tls_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32, 96))  # no line end
    get_healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    wire = {  # name: (bytes, hang up after sending them, the status line's code, b"" for no answer)
        "over-size-chunked-body": (chunked, False, b"413"),
        "body-shorter-than-announced": (announced, True, b""),
        "tls-handshake-on-http": (tls_hello, False, b""),
        "binary-request-line": (b"\x00\x01\xff\xfe GET\r\n\r\n", False, b"400"),
        "header-100kb": (get_healthz + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n", False, b"431"),
        "headers-500": (get_healthz + many_headers + b"\r\n", False, b"431"),
        "request-line-20kb": (b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", False, b"414"),
    }  # fmt: skip
    for kind, (data, hang_up, status) in wire.items():
        answer = raw_exchange(server.base_url, data, close_after_send=hang_up)
        tally.tried("bad_input", kind)
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.split(b" ")[1:2] == ([status] if status else []), (kind, answer[:200])
    assert upload(server, headers, jpeg_bytes(photo)).status == 201  # and real work goes on
    assert server.workers() == workers, "a worker died"
    assert server.request("GET", "/healthz").status == 200
    state = assert_consistent(server.app)
    assert state.rows == accepted + 1
    tally.checked_storage()


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# ----------------------------------------------------------------------------------------- brute force
def test_brute_force_is_limited_across_workers(gunicorn, random_models, tally):
    """Login, token and bearer guessing from one address: the limit holds across both workers, because
    they count in Redis; other addresses are not affected."""
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0; .ci/run sets it)")
    import redis

    prefix = f"scalpcheck-hardening-{secrets.token_hex(6)}"  # this run's counters only
    limits = {
        "RATELIMIT_LOGIN": f"{BRUTE_FORCE['login'][1]} per minute",
        "RATELIMIT_TOKENS": f"{BRUTE_FORCE['api-token'][1]} per minute",
        "RATELIMIT_API": f"{BRUTE_FORCE['bearer-guessing'][1]} per minute",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    server = gunicorn(limits, env={"RATELIMIT_STORAGE_URI": redis_url})
    store = redis.Redis.from_url(redis_url)
    try:
        workers = set(server.workers())
        assert len(workers) == 2
        sign_up(server, "alice")
        for n, (name, (path, limit)) in enumerate(BRUTE_FORCE.items(), 2):
            attacker, bystander = f"127.0.0.{n}", f"127.0.1.{n}"
            statuses = [_guess(server, name, attacker).status for _ in range(limit)]
            # The kernel hands a connection to whichever idle worker wakes first, which can be the same one
            # hundreds of times; a connection held open keeps one worker busy, so the next goes to the other.
            for _ in range(5):
                if _limited_by(server, path) == workers:
                    break
                replies = _guess_on_both_workers(server, name, attacker)
                statuses += [reply.status for reply in replies]
                assert all("retry-after" in reply.headers for reply in replies), name
            tally.tried("attack", f"brute-force {name}", times=len(statuses))
            assert statuses[:limit] == [401] * limit and set(statuses[limit:]) == {429}, (name, statuses)
            assert _limited_by(server, path) == workers, f"{name}: one worker kept its own count"
            if name != "bearer-guessing":
                # Even the right password is refused now, so guessing learns nothing; others may log in.
                assert _guess(server, name, attacker, right=True).status == 429
                assert _guess(server, name, bystander, right=True).status in (201, 303)
        assert list(store.scan_iter(f"*{prefix}*")), "the counters are not in Redis"
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)


def _guess_request(name: str, right: bool = False) -> tuple[str, str, bytes, dict]:
    """(method, path, body, headers) of one guess of alice's password (or, right=True, her real one), or of
    a bearer token."""
    password = PASSWORD if right else "not the password"
    if name == "login":
        body = urlencode({"username": "alice", "password": password}).encode()
        return "POST", "/auth/login", body, {"Content-Type": "application/x-www-form-urlencoded"}
    if name == "api-token":
        return "POST", "/api/v1/tokens", b"", basic("alice", password)
    return "GET", "/api/v1/assessments", b"", {"Authorization": f"Bearer sct_{secrets.token_urlsafe(32)}"}


def _guess(server, name: str, source: str, right: bool = False):
    """One guess from `source`, on a fresh connection."""
    method, path, body, headers = _guess_request(name, right)
    return server.request(method, path, body=body, headers=headers, source=source)


def _guess_on_both_workers(server, name: str, source: str) -> list[Reply]:
    """Two guesses from `source`: the first on a connection opened (and so taken by one sync worker, which
    then waits for its request) before the second is sent, which only the other worker is free to take."""
    parts = urlsplit(server.base_url)
    held = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=(source, 0))
    try:
        held.connect()
        time.sleep(0.3)  # for a worker to accept it
        second = _guess(server, name, source)
        method, path, body, headers = _guess_request(name)
        held.request(method, path, body=body or None, headers=headers)
        response = held.getresponse()
        first = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        held.close()
    return [first, second]


def _limited_by(server, path: str) -> set[int]:
    """The workers that have answered 429 to `path`."""
    return {
        pid for pid, _, answered_path, status in server.access() if answered_path == path and status == 429
    }


# ----------------------------------------------------------------------------------------------- SIGKILL
@pytest.mark.parametrize("image_store", ["folder", "s3"])
def test_a_worker_killed_mid_change_loses_nothing(
    image_store, gunicorn, random_models, tally, tmp_path, s3_servers, monkeypatch
):
    """SIGKILL at the worst moments of an upload and a deletion, with the images in a folder and in an S3
    bucket (rclone's server): the next worker settles what the dead one left, by what the database says.
    No row without its images, no image without its row."""
    if image_store == "s3":
        s3 = s3_servers("rclone")
        for name, value in s3.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("IMAGE_STORE_URL", f"s3://{s3.new_bucket()}/images")
        monkeypatch.setenv("IMAGE_STORE_SETTLE_AFTER_S", "1")  # a marker this old is a dead worker's
    markers = tmp_path / "markers"
    markers.mkdir()
    server = gunicorn(UNLIMITED, env={"HARDENING_MARKERS": str(markers)}, faults=True)
    headers = sign_up(server, "alice")
    photos = [jpeg_bytes(phantom(seed=s)) for s in range(20, 24)]
    kept = [upload(server, headers, photo).json()["id"] for photo in photos[:2]]

    def killed_at(point: str, method: str, path: str, **send) -> None:
        outcome: list = []
        thread = threading.Thread(
            target=lambda: outcome.append(_attempt(server, method, path, point, **send)), daemon=True
        )
        thread.start()
        pid = _wait_for_marker(markers, point)
        assert store_state(server.app).pending, "the worker paused outside a change of the image store"
        os.kill(pid, signal.SIGKILL)
        thread.join(60)
        assert outcome and isinstance(outcome[0], OSError), f"the client got an answer: {outcome}"
        server.wait_ready(2, timeout=60, replacing=frozenset({pid}))
        _wait_until_settled(server)

    def ids() -> set[int]:
        return {
            item["id"]
            for item in server.request("GET", "/api/v1/assessments", headers=headers).json()["items"]
        }

    body, content_type = multipart(("image", "photo.jpg", photos[2]), ("task", "scalp"))
    upload_request = {"body": body, "headers": {**headers, "Content-Type": content_type}}

    killed_at("before-commit", "POST", "/api/v1/assessments", **upload_request)
    assert ids() == set(kept) and assert_consistent(server.app).rows == 2
    tally.tried("fault", f"worker killed before an upload's commit, {image_store} store")
    tally.checked_storage()

    killed_at("after-commit", "POST", "/api/v1/assessments", **upload_request)
    (committed,) = ids() - set(kept)  # the client heard nothing, but the assessment was made: it is whole
    assert assert_consistent(server.app).rows == 3
    assert server.request("GET", f"/api/v1/assessments/{committed}/image", headers=headers).status == 200
    tally.tried("fault", f"worker killed after an upload's commit, {image_store} store")
    tally.checked_storage()

    killed_at("before-commit", "DELETE", f"/api/v1/assessments/{kept[0]}", headers=headers)
    assert kept[0] in ids() and assert_consistent(server.app).rows == 3  # its images are back in place
    assert server.request("GET", f"/api/v1/assessments/{kept[0]}/heatmap", headers=headers).status == 200
    tally.tried("fault", f"worker killed before a deletion's commit, {image_store} store")
    tally.checked_storage()

    killed_at("after-commit", "DELETE", f"/api/v1/assessments/{kept[0]}", headers=headers)
    assert kept[0] not in ids() and assert_consistent(server.app).rows == 2  # and its images are gone
    tally.tried("fault", f"worker killed after a deletion's commit, {image_store} store")
    tally.checked_storage()

    # Killed while the photo is still arriving: every worker, as any of them may be the one reading it.
    before = set(server.workers())
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(
            b"POST /api/v1/assessments HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {len(body)}\r\nContent-Type: {content_type}\r\n".encode()
            + f"Authorization: {headers['Authorization']}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        time.sleep(1)
        for pid in before:
            os.kill(pid, signal.SIGKILL)
    server.wait_ready(2, timeout=60, replacing=frozenset(before))
    _wait_until_settled(server)
    assert assert_consistent(server.app).rows == 2
    tally.tried("fault", f"workers killed while an upload arrives, {image_store} store")
    tally.checked_storage()
    assert upload(server, headers, photos[3]).status == 201  # and the new workers serve


def _attempt(server, method: str, path: str, point: str, **send):
    try:
        headers = {**send.pop("headers", {}), "X-Hardening-Pause": point}
        return server.request(method, path, headers=headers, **send)
    except OSError as exc:  # the connection dies with the worker
        return exc


def _wait_for_marker(markers: Path, point: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for marker in markers.glob(f"*-{point}"):
            marker.unlink()
            return int(marker.name.split("-", 1)[0])
        time.sleep(0.05)
    raise AssertionError(f"no worker paused at {point}")


def _wait_until_settled(server, timeout: float = 30) -> None:
    """Until no image store operation is pending: a new worker settles the dead one's at start, or (a
    bucket's marker being too young then) on a later request."""
    deadline = time.monotonic() + timeout
    while store_state(server.app).pending and time.monotonic() < deadline:
        server.request("GET", "/healthz")
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------ SQLite writers
def test_sqlite_keeps_every_write_of_concurrent_workers(database, gunicorn, random_models, tally):
    """Four worker processes writing users, tokens and assessments at once: WAL and the busy timeout make
    writers wait their turn, so every acknowledged write is there and nothing fails with "locked"."""
    if database != "sqlite":
        pytest.skip("SQLite's concurrent writers; PostgreSQL takes concurrent writes by design")
    server = gunicorn(UNLIMITED, workers=4)
    photo = jpeg_bytes(phantom(seed=30))
    acknowledged: Counter[str] = Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            headers = sign_up(server, f"writer{n}")
            mine = []
            for i in range(12):
                tokens = server.request("POST", "/api/v1/tokens", headers=basic(f"writer{n}"))
                outcomes = [("token", tokens.status == 201, tokens.status)]
                if i % 3 == 0:
                    reply = upload(server, headers, photo)
                    outcomes.append(("assessment", reply.status == 201, reply.status))
                    if reply.status == 201:
                        mine.append(reply.json()["id"])
                if i % 6 == 5 and mine:
                    gone = server.request("DELETE", f"/api/v1/assessments/{mine.pop(0)}", headers=headers)
                    outcomes.append(("deletion", gone.status == 204, gone.status))
                with lock:
                    for what, ok, status in outcomes:
                        acknowledged[what] += ok
                        if not ok:
                            errors.append(f"{what}: {status}")
        except (OSError, AssertionError) as exc:
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    tally.tried("fault", "8 clients writing through 4 SQLite worker processes")
    assert not errors, errors[:10]
    from sqlalchemy import func, select, text

    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import ApiToken, User

    with server.app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.scalar(select(func.count()).select_from(User)) == 8
        # each writer's sign-up token, plus every token acknowledged after it
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 8 + acknowledged["token"]
    state = assert_consistent(server.app)
    assert state.rows == acknowledged["assessment"] - acknowledged["deletion"]
    tally.checked_storage()


# ---------------------------------------------------------------------------------- the soak, and PostgreSQL
class Soak:
    """What the soak's clients did: every call (operation, when, as expected), the errors, the ids that were
    acknowledged as made and as deleted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[tuple[str, float, bool]] = []  # (operation, when it began, as expected)
        self.errors: list[
            tuple[float, float, str, int | str]
        ] = []  # (began, ended, operation, status or error)
        self.created: set[int] = set()
        self.deleted: set[int] = set()

    def call(self, operation: str, expected: int, send, *args, **kwargs):
        """send(*args, **kwargs) -> a Reply; the Reply when its status is `expected`, else None (recorded as
        an error)."""
        at = time.monotonic()
        try:
            reply = send(*args, **kwargs)
            status = reply.status
        except OSError as exc:
            reply, status = None, repr(exc)
        ok = status == expected
        with self.lock:
            self.calls.append((operation, at, ok))
            if not ok:
                self.errors.append((at, time.monotonic(), operation, status))
        return reply if ok else None


def _rss_growth(samples: list[tuple[float, dict[int, float]]]) -> dict[int, tuple[float, float]]:
    """{worker: (RSS at the end of the warm-up, RSS at the end)}, in MiB."""
    warm = next(sizes for at, sizes in samples if at >= WARM_UP_SECONDS)
    last = samples[-1][1]
    return {pid: (warm[pid], last[pid]) for pid in warm if pid in last}


def test_a_minute_of_load_loses_nothing_and_memory_stays_flat(
    database, request, monkeypatch, gunicorn, random_models, tally
):
    """Eight clients for a minute on two workers: uploads, reads, lists and deletions, each client its own
    user. On PostgreSQL the database restarts a third of the way in; the app must carry on once it is back."""
    postgres = None
    if database == "postgresql":
        postgres = request.getfixturevalue("private_postgres")
        monkeypatch.setenv("DATABASE_URL", postgres.url)
    server = gunicorn(UNLIMITED)
    workers = server.workers()
    kinds = [("scalp", "healthy"), ("scalp", "psoriasis"), ("scalp", "alopecia"), ("scalp", "folliculitis"),
             ("hairloss", "stage_1"), ("hairloss", "stage_3")]  # fmt: skip
    photos = [
        (task, jpeg_bytes(phantom(task, label, seed=40 + i, size=512)))
        for i, (task, label) in enumerate(kinds)
    ]
    users = [sign_up(server, f"client{n}") for n in range(SOAK_CLIENTS)]
    log = Soak()
    start = time.monotonic()
    stop = start + SOAK_SECONDS

    def client(n: int) -> None:
        headers, mine, i = users[n], [], 0
        while time.monotonic() < stop:
            i += 1
            task, photo = photos[(n + i) % len(photos)]
            reply = log.call("upload", 201, upload, server, headers, photo, task=task)
            if reply is not None:
                created = reply.json()["id"]
                log.created.add(created)
                mine.append(created)
                path = f"/api/v1/assessments/{created}"
                log.call("read", 200, server.request, "GET", path, headers=headers)
                image = f"{path}/image" if i % 2 else f"{path}/heatmap"
                log.call("image", 200, server.request, "GET", image, headers=headers)
            if i % 3 == 0:
                log.call(
                    "list", 200, server.request, "GET", "/api/v1/assessments?per_page=5", headers=headers
                )
            if i % 4 == 0 and len(mine) > 1:
                gone = mine.pop(0)
                path = f"/api/v1/assessments/{gone}"
                if log.call("delete", 204, server.request, "DELETE", path, headers=headers) is not None:
                    log.deleted.add(gone)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(SOAK_CLIENTS)]
    for thread in threads:
        thread.start()
    memory: list[tuple[float, dict[int, float]]] = []
    outage = None
    while any(thread.is_alive() for thread in threads):
        now = time.monotonic() - start
        memory.append((now, server.rss_mb()))
        if postgres is not None and outage is None and now >= POSTGRES_RESTART_AT:
            outage = postgres.restart(start)
        time.sleep(1)
    for thread in threads:
        thread.join()

    counts = Counter(op for op, *_ in log.calls)
    print(f"\nsoak on {database}: {dict(counts)} in {SOAK_SECONDS} s; errors: {len(log.errors)}")
    assert counts["upload"] > SOAK_SECONDS, "the soak made too little progress to tell anything"
    if outage is None:
        assert not log.errors, log.errors[:10]
    else:
        down, up = outage
        tally.tried("fault", "PostgreSQL restarted under load")
        # A request fails with the restart when it was under way while the database was down.
        late = [
            (began - start, ended - start, operation, status)
            for began, ended, operation, status in log.errors
            if ended - start < down or began - start > up + AFTER_RESTART_GRACE
        ]
        assert not late, f"errors outside the restart ({down:.1f} s to {up:.1f} s): {late[:10]}"
        # ... and is told so: 503 with Retry-After, not a crash.
        other = [
            (began - start, operation, status) for began, _, operation, status in log.errors if status != 503
        ]
        assert not other, f"answers other than 503 during the restart: {other[:10]}"
        after = [c for c in log.calls if c[0] == "upload" and c[1] - start > up + AFTER_RESTART_GRACE]
        assert after and all(ok for *_, ok in after), "no successful upload after the restart"
        print(f"PostgreSQL down from {down:.1f} s to {up:.1f} s; {len(log.errors)} requests failed meanwhile")

    assert server.workers() == workers, "a worker died or was replaced"
    growth = _rss_growth(memory)
    print(
        "worker RSS (MiB), warm-up end -> end: "
        + ", ".join(f"{a:.0f} -> {b:.0f}" for a, b in growth.values())
    )
    for pid, (first, last) in growth.items():
        assert last - first <= RSS_GROWTH_MAX_MB, f"worker {pid} grew from {first:.0f} to {last:.0f} MiB"

    state = assert_consistent(server.app)
    from sqlalchemy import select

    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import Assessment

    with server.app.app_context():
        rows = set(db.session.scalars(select(Assessment.id)))
    assert not rows & log.deleted, "an acknowledged deletion came back"
    assert log.created - log.deleted <= rows, "an acknowledged assessment is missing"
    unknown = len(rows - log.created)  # made, but the answer was lost in the restart
    assert unknown <= len([error for error in log.errors if error[2] == "upload"])
    assert state.rows == len(rows)
    tally.checked_storage()


def test_pages_and_the_api_say_when_the_database_is_down(
    database, request, monkeypatch, random_models, make_app, tally
):
    """With PostgreSQL stopped, every kind of request gets 503 and Retry-After (a passing state, not a bug),
    nothing is stored, and the same app works again once the database is back."""
    if database != "postgresql":
        pytest.skip("a database server that goes away; SQLite is a file")
    postgres = request.getfixturevalue("private_postgres")
    monkeypatch.setenv("DATABASE_URL", postgres.url)
    app = make_app()
    client = app.test_client()
    alice = new_uploader(client)
    photo = phantom_jpeg(seed=50)
    assessment_id = alice.send("api", ("image", "p.jpg", photo)).assessment_id
    files = store_state(app).files
    postgres.pg_ctl("stop", "-m", "fast")
    try:
        pages = ["/", "/history", f"/assessments/{assessment_id}", f"/assessments/{assessment_id}/image"]
        for path in pages:
            response = client.get(path)
            tally.tried("fault", "database down: a page")
            assert response.status_code == 503 and b"briefly unavailable" in response.data, path
            assert response.headers["Retry-After"]
        for channel in CHANNELS:
            outcome = alice.send(channel, ("image", "p.jpg", photo))
            tally.tried("fault", f"database down: an upload via {channel}")
            assert outcome.status == 503 and outcome.code in (None, "service_unavailable"), outcome
        for method, path in (("GET", "/api/v1/assessments"), ("GET", f"/api/v1/assessments/{assessment_id}"),
                             ("DELETE", f"/api/v1/assessments/{assessment_id}")):  # fmt: skip
            response = client.open(path, method=method, headers=alice.headers)
            tally.tried("fault", "database down: the API")
            assert response.status_code == 503 and response.json["error"]["code"] == "service_unavailable"
        assert stored_files(app_state(app).store.root) == files  # the disk alone: nothing written meanwhile
    finally:
        postgres.pg_ctl("start")
    assert client.get("/history").status_code == 200  # the same app, its pool reconnected
    assert alice.send("api", ("image", "p.jpg", photo)).accepted
    assert assert_consistent(app).rows == 2
    tally.checked_storage()
