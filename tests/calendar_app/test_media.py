"""Media uploads: type from content, limits, refusals that leave nothing behind, access."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from calendar_app.models import MediaAsset, Role
from calendar_app.services.media import media_upload
from tests.conftest import login
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def image_bytes(fmt: str, size=(800, 600), mode="RGB", **save_kwargs) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "#3366cc").save(out, format=fmt, **save_kwargs)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb)."""
    data = bytearray(image_bytes("PNG", size=(1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


MP4_HEADER = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2" + b"\x00" * 64
MOV_HEADER = struct.pack(">I", 20) + b"ftypqt  " + b"\x00\x00\x02\x00" + b"qt  " + b"\x00" * 64
WEBM_HEADER = b"\x1a\x45\xdf\xa3" + b"\x00" * 60


# --- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name", "mime"),
    [
        ("JPEG", "photo.jpg", "image/jpeg"),
        ("PNG", "chart.png", "image/png"),
        ("GIF", "anim.gif", "image/gif"),
        ("WEBP", "pic.webp", "image/webp"),
    ],
)
def test_given_a_real_image_when_uploaded_then_it_is_stored_with_a_webp_thumbnail(
    editor, media_root, fmt, name, mime
):
    asset = media_upload(
        membership=editor, uploaded_file=upload(name, image_bytes(fmt)), alt_text=" A chart "
    )

    asset.refresh_from_db()
    assert (asset.kind, asset.mime_type, asset.width, asset.height) == ("image", mime, 800, 600)
    assert asset.original_name == name
    assert asset.alt_text == "A chart"
    assert asset.uploaded_by == editor.user
    assert asset.size_bytes == asset.file.size
    with Image.open(asset.thumbnail.path) as thumb:
        assert thumb.format == "WEBP"
        assert max(thumb.size) == 480
    assert len(stored_files(media_root)) == 2


def test_given_an_exif_rotated_jpeg_when_uploaded_then_size_and_thumbnail_are_upright(editor):
    image = Image.new("RGB", (600, 300), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise when shown
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)

    asset = media_upload(membership=editor, uploaded_file=upload("phone.jpg", out.getvalue()))

    assert (asset.width, asset.height) == (300, 600)
    with Image.open(asset.thumbnail.path) as thumb:
        assert thumb.size[1] > thumb.size[0]


def test_given_a_png_named_jpg_when_uploaded_then_type_and_extension_come_from_the_content(
    editor,
):
    asset = media_upload(
        membership=editor, uploaded_file=upload("really-a-png.jpg", image_bytes("PNG"))
    )

    assert asset.mime_type == "image/png"
    assert asset.file.name.endswith(".png")


@pytest.mark.parametrize(
    ("header", "mime", "ext"),
    [
        (MP4_HEADER, "video/mp4", ".mp4"),
        (MOV_HEADER, "video/quicktime", ".mov"),
        (WEBM_HEADER, "video/webm", ".webm"),
    ],
)
def test_given_a_video_header_when_uploaded_then_it_is_a_video_without_thumbnail(
    editor, header, mime, ext
):
    asset = media_upload(membership=editor, uploaded_file=upload("clip.bin", header))

    assert (asset.kind, asset.mime_type) == ("video", mime)
    assert asset.file.name.endswith(ext)
    assert not asset.thumbnail
    assert asset.width is None


# --- refused ----------------------------------------------------------------------------------


def assert_nothing_stored(media_root: Path) -> None:
    assert MediaAsset.objects.count() == 0
    assert stored_files(media_root) == []


def test_given_a_text_file_named_jpg_when_uploaded_then_refused_and_nothing_stored(
    editor, media_root
):
    with pytest.raises(ValidationError) as exc:
        media_upload(membership=editor, uploaded_file=upload("notes.jpg", b"just some text\n" * 10))

    assert "notes.jpg is not a supported image or video" in exc.value.messages[0]
    assert_nothing_stored(media_root)


def test_given_a_truncated_png_when_uploaded_then_refused_as_damaged(editor, media_root):
    # Noise does not compress, so half of the file misses real pixel data.
    noisy = Image.frombytes("RGB", (400, 400), bytes(range(256)) * 1875)
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    data = out.getvalue()

    with pytest.raises(ValidationError) as exc:
        media_upload(membership=editor, uploaded_file=upload("cut.png", data[: len(data) // 2]))

    assert exc.value.messages == [
        "cut.png is damaged or incomplete and cannot be used as an image."
    ]
    assert_nothing_stored(media_root)


def test_given_a_decompression_bomb_when_uploaded_then_refused(editor, media_root):
    bomb = png_claiming_size(40_000, 40_000)  # 1.6 gigapixels in a few bytes

    with pytest.raises(ValidationError) as exc:
        media_upload(membership=editor, uploaded_file=upload("bomb.png", bomb))

    assert exc.value.messages == ["bomb.png has too many pixels to be processed safely."]
    assert_nothing_stored(media_root)


def test_given_an_image_just_over_the_pillow_warning_limit_when_uploaded_then_refused(
    editor, media_root, monkeypatch
):
    # Between MAX_IMAGE_PIXELS and twice that Pillow only warns; we refuse anyway.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)

    with pytest.raises(ValidationError, match="too many pixels"):
        media_upload(
            membership=editor, uploaded_file=upload("big.png", image_bytes("PNG", (150, 100)))
        )

    assert_nothing_stored(media_root)


@override_settings(MEDIA_MAX_IMAGE_BYTES=1000)
def test_given_an_image_over_the_limit_when_uploaded_then_refused_naming_file_and_limit(
    editor, media_root
):
    with pytest.raises(ValidationError) as exc:
        media_upload(
            membership=editor, uploaded_file=upload("huge.jpg", b"\xff\xd8" + b"\x00" * 2000)
        )

    # filesizeformat joins number and unit with a no-break space
    assert exc.value.messages == [
        "huge.jpg is 2.0\xa0KB; image files may be at most 1000\xa0bytes."
    ]
    assert_nothing_stored(media_root)


@override_settings(MEDIA_MAX_VIDEO_BYTES=50)
def test_given_a_video_over_the_limit_when_uploaded_then_refused(editor, media_root):
    with pytest.raises(ValidationError, match="video files may be at most 50"):
        media_upload(membership=editor, uploaded_file=upload("long.mp4", MP4_HEADER))

    assert_nothing_stored(media_root)


def test_given_a_heif_image_when_uploaded_then_it_is_not_taken_for_a_video(editor, media_root):
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00" * 60

    with pytest.raises(ValidationError, match="not a supported image or video"):
        media_upload(membership=editor, uploaded_file=upload("photo.heic", heic))

    assert_nothing_stored(media_root)


def test_given_a_bmp_image_when_uploaded_then_refused_as_unsupported(editor, media_root):
    with pytest.raises(ValidationError, match="not a supported image or video"):
        media_upload(membership=editor, uploaded_file=upload("old.bmp", image_bytes("BMP")))

    assert_nothing_stored(media_root)


def test_given_storage_fails_after_the_file_is_written_then_the_file_is_removed(
    editor, media_root, monkeypatch
):
    def broken_save(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(MediaAsset, "save", broken_save)

    with pytest.raises(RuntimeError):
        media_upload(membership=editor, uploaded_file=upload("a.png", image_bytes("PNG")))

    assert stored_files(media_root) == []


def test_given_a_viewer_when_uploading_through_the_service_then_permission_denied(
    viewer, media_root
):
    with pytest.raises(PermissionDenied):
        media_upload(membership=viewer, uploaded_file=upload("a.png", image_bytes("PNG")))

    assert_nothing_stored(media_root)


# --- views ------------------------------------------------------------------------------------


def test_given_an_editor_when_uploading_inline_then_json_describes_the_asset(client, editor):
    login(client, editor)

    response = client.post(
        reverse("calendar:media_upload", args=["acme"]),
        {"file": upload("inline.png", image_bytes("PNG"))},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 201
    asset = MediaAsset.objects.get()
    body = response.json()
    assert body["id"] == asset.pk
    assert body["name"] == "inline.png"
    assert body["kind"] == "image"
    assert body["thumb_url"] == asset.thumbnail.url


def test_given_a_bad_file_when_uploading_inline_then_json_error_400(client, editor, media_root):
    login(client, editor)

    response = client.post(
        reverse("calendar:media_upload", args=["acme"]),
        {"file": upload("evil.gif", b"<?php echo 1; ?>")},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 400
    assert "evil.gif is not a supported image or video" in response.json()["error"]
    assert_nothing_stored(media_root)


def test_given_several_files_in_the_library_form_then_each_error_is_shown(client, editor):
    login(client, editor)

    response = client.post(
        reverse("calendar:media_upload", args=["acme"]),
        {
            "file": [
                upload("good.jpg", image_bytes("JPEG")),
                upload("bad.png", b"nope"),
                upload("clip.mp4", MP4_HEADER),
            ]
        },
        follow=True,
    )

    assert response.redirect_chain == [(reverse("calendar:media_library", args=["acme"]), 302)]
    shown = [str(m) for m in response.context["messages"]]
    assert any("bad.png is not a supported image or video" in m for m in shown)
    assert "2 files were added to the media library." in shown
    assert sorted(MediaAsset.objects.values_list("original_name", flat=True)) == [
        "clip.mp4",
        "good.jpg",
    ]


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_given_a_viewer_when_uploading_then_403_and_nothing_stored(
    client, viewer, media_root, accept
):
    login(client, viewer)

    response = client.post(
        reverse("calendar:media_upload", args=["acme"]),
        {"file": upload("a.png", image_bytes("PNG"))},
        headers={"accept": accept},
    )

    assert response.status_code == 403
    assert_nothing_stored(media_root)


def test_given_a_viewer_when_opening_the_library_then_it_lists_media_without_upload_form(
    client, viewer, editor
):
    media_upload(membership=editor, uploaded_file=upload("team.jpg", image_bytes("JPEG")))
    login(client, viewer)

    response = client.get(reverse("calendar:media_library", args=["acme"]))

    assert response.status_code == 200
    assert b"team.jpg" in response.content
    assert b'data-testid="upload-form"' not in response.content


def test_given_another_workspace_when_opening_its_library_or_uploading_then_404(
    client, editor, other_workspace
):
    login(client, editor)

    library = client.get(reverse("calendar:media_library", args=["other"]))
    upload_response = client.post(
        reverse("calendar:media_upload", args=["other"]),
        {"file": upload("a.png", image_bytes("PNG"))},
    )

    assert (library.status_code, upload_response.status_code) == (404, 404)
    assert MediaAsset.objects.count() == 0


def test_given_media_of_another_workspace_then_its_library_never_shows_it(
    client, editor, other_workspace
):
    stranger = MembershipFactory(
        workspace=other_workspace, user=UserFactory(username="uploader"), role=Role.EDITOR
    )
    media_upload(membership=stranger, uploaded_file=upload("secret.png", image_bytes("PNG")))
    login(client, editor)

    response = client.get(reverse("calendar:media_library", args=["acme"]))

    assert b"secret.png" not in response.content


def test_library_page_query_count_does_not_grow_with_the_number_of_files(
    client, editor, django_assert_num_queries
):
    for i in range(3):
        media_upload(membership=editor, uploaded_file=upload(f"{i}.png", image_bytes("PNG")))
    login(client, editor)
    url = reverse("calendar:media_library", args=["acme"])
    client.get(url)  # warm the session

    # session, user, membership, my workspaces, media count, media page (see test_media_picker)
    with django_assert_num_queries(7):  # incl. the navbar's unread notification count
        client.get(url)
