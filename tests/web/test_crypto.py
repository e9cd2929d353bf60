"""The image keys and the sealed file format: AES-GCM, a key id per file, bound to the file's place."""

from __future__ import annotations

import stat

import pytest

from scalpcheck.errors import UsageError
from scalpcheck.settings import encode_image_key, load_settings, parse_image_keys
from scalpcheck.web.crypto import HEADER_BYTES, KeyRing, SealError, key_id, new_key, sealed_key_id

PLACE = "a" * 32 + "/photo.jpg"


def ring(*keys: bytes) -> KeyRing:
    return KeyRing(lambda: list(keys))


def test_a_sealed_image_opens_only_under_its_key_and_place():
    key = b"k" * 32
    keys = ring(key)
    sealed = keys.seal(b"\xff\xd8 the photo", PLACE)
    assert b"the photo" not in sealed and not sealed.startswith(b"\xff\xd8")
    assert sealed_key_id(sealed[:HEADER_BYTES]) == key_id(key) == keys.current
    assert keys.open(sealed, PLACE) == b"\xff\xd8 the photo"
    assert keys.seal(b"same", PLACE) != keys.seal(b"same", PLACE)  # a fresh nonce each time
    for elsewhere in ("b" * 32 + "/photo.jpg", "a" * 32 + "/thumbnail.jpg"):
        with pytest.raises(SealError, match="altered or moved"):
            keys.open(sealed, elsewhere)
    with pytest.raises(SealError, match="not among the image keys"):
        ring(b"o" * 32).open(sealed, PLACE)


@pytest.mark.parametrize("where", [0, 4, 5, 9, HEADER_BYTES, -1])
def test_any_altered_byte_is_refused(where):
    keys = ring(b"k" * 32)
    sealed = bytearray(keys.seal(b"the photo", PLACE))
    sealed[where] ^= 0x01
    with pytest.raises(SealError):
        keys.open(bytes(sealed), PLACE)
    with pytest.raises(SealError):
        keys.open(bytes(sealed[:-3]), PLACE)  # truncated


def test_old_keys_open_and_the_first_seals():
    new, old = b"n" * 32, b"o" * 32
    sealed_before = ring(old).seal(b"old photo", PLACE)
    keys = ring(new, old)
    assert keys.open(sealed_before, PLACE) == b"old photo"
    assert sealed_key_id(keys.seal(b"new photo", PLACE)) == key_id(new)


def test_the_key_file_is_made_once_private_and_reread_when_it_changes(home):
    settings = load_settings()
    keys = KeyRing.from_settings(settings)
    path = settings.image_keys_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = KeyRing.from_settings(load_settings())
    assert keys.current == key_id(parse_image_keys(path.read_text(), "test")[0])  # kept, not made again
    assert not keys.refresh()
    other = parse_image_keys(new_key(), "test")[0]
    path.write_text(encode_image_key(other) + "\n" + path.read_text())
    assert keys.refresh() and keys.current == key_id(other) and len(keys.ids) == 2


def test_image_key_comes_from_the_environment_current_first():
    first, second = new_key(), new_key().rstrip("=")  # padding may be left off
    settings = load_settings({"IMAGE_KEY": f"{first}, {second}", "SCALPCHECK_HOME": "/nonexistent"})
    keys = KeyRing.from_settings(settings)
    assert keys.ids == [key_id(k) for k in parse_image_keys(f"{first}\n{second}", "test")]
    assert keys.source == "IMAGE_KEY"


@pytest.mark.parametrize("bad", ["not base64 at all!", encode_image_key(b"short"), "c2VjcmV0" * 8])
def test_a_malformed_image_key_is_refused_without_repeating_it(bad):
    with pytest.raises(UsageError, match="IMAGE_KEY: key 2 is not 32 bytes") as refused:
        load_settings({"IMAGE_KEY": f"{new_key()},{bad}"})
    assert bad not in str(refused.value)
