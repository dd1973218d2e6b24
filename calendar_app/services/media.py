"""Uploads into a workspace's media library: the type is detected from the content, never the name.

A refused file leaves nothing behind: no stored file, no row.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from calendar_app.models import MediaAsset, MediaKind, Membership
from calendar_app.permissions import Action, require

THUMBNAIL_MAX_PX = 480
IMAGE_FORMATS: dict[str, tuple[str, str]] = {  # Pillow format -> (mime type, extension)
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
# ISO base media files share the `ftyp` box with HEIF/AVIF still images: those are not videos.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


@dataclass(frozen=True)
class _Detected:
    kind: str
    mime_type: str
    extension: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


def _unsupported(name: str) -> ValidationError:
    return ValidationError(
        _(
            "%(name)s is not a supported image or video. "
            "Upload JPEG, PNG, GIF or WebP images, or MP4, MOV or WebM videos."
        )
        % {"name": name},
        code="unsupported",
    )


def _sniff_video(head: bytes) -> tuple[str, str] | None:
    """(mime type, extension) when the first bytes are an MP4/MOV or WebM container."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        if brand == b"qt  ":
            return "video/quicktime", "mov"
        return "video/mp4", "mp4"
    if head[:4] == _EBML_MAGIC:
        return "video/webm", "webm"
    return None


def _check_size(name: str, size: int, limit: int, kind_label: str) -> None:
    if size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s; %(kind)s files may be at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(size),
                "kind": kind_label,
                "limit": filesizeformat(limit),
            },
            code="too_large",
        )


def _thumbnail_webp(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX))
    if thumb.mode not in ("RGB", "RGBA"):
        has_alpha = thumb.mode in ("LA", "PA") or "transparency" in thumb.info
        thumb = thumb.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    thumb.save(out, format="WEBP", quality=80)
    return out.getvalue()


def _inspect_image(name: str, uploaded_file: UploadedFile) -> _Detected:
    """Open, verify and measure an image; refuse anything Pillow cannot fully decode safely."""
    damaged = ValidationError(
        _("%(name)s is damaged or incomplete and cannot be used as an image.") % {"name": name},
        code="damaged",
    )
    bomb = ValidationError(
        _("%(name)s has too many pixels to be processed safely.") % {"name": name},
        code="too_many_pixels",
    )
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: treat it as a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            uploaded_file.seek(0)
            with Image.open(uploaded_file) as probe:
                image_format = probe.format
                if image_format not in IMAGE_FORMATS:
                    raise _unsupported(name)
                probe.verify()
            # verify() leaves the image unusable: reopen to decode it completely.
            uploaded_file.seek(0)
            with Image.open(uploaded_file) as image:
                image.load()
                oriented = ImageOps.exif_transpose(image)
                width, height = oriented.size
                thumbnail = _thumbnail_webp(oriented)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise bomb from None
        except UnidentifiedImageError:
            raise _unsupported(name) from None
        except ValidationError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
            raise damaged from None
    mime_type, extension = IMAGE_FORMATS[image_format]
    return _Detected(MediaKind.IMAGE, mime_type, extension, width, height, thumbnail)


def _detect(name: str, uploaded_file: UploadedFile) -> _Detected:
    size = uploaded_file.size or 0
    if size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, code="empty")
    uploaded_file.seek(0)
    head = uploaded_file.read(32)
    video = _sniff_video(head)
    if video is not None:
        _check_size(name, size, settings.MEDIA_MAX_VIDEO_BYTES, _("video"))
        return _Detected(MediaKind.VIDEO, *video)
    # Measure before decoding: an oversized upload never reaches Pillow.
    _check_size(name, size, settings.MEDIA_MAX_IMAGE_BYTES, _("image"))
    return _inspect_image(name, uploaded_file)


def media_upload(
    *, membership: Membership, uploaded_file: UploadedFile, alt_text: str = ""
) -> MediaAsset:
    """Store an image or video in the membership's workspace library, with a thumbnail."""
    require(membership, Action.MEDIA_UPLOAD)
    name = (uploaded_file.name or _("The file")).rsplit("/", 1)[-1][:255]
    detected = _detect(name, uploaded_file)
    alt_text = alt_text.strip()
    if len(alt_text) > 1000:
        raise ValidationError(_("The alt text may be at most 1000 characters long."))

    asset = MediaAsset(
        workspace=membership.workspace,
        kind=detected.kind,
        mime_type=detected.mime_type,
        size_bytes=uploaded_file.size,
        width=detected.width,
        height=detected.height,
        original_name=name,
        alt_text=alt_text,
        uploaded_by=membership.user,
    )
    stored: list = []
    try:
        with transaction.atomic():
            uploaded_file.seek(0)
            asset.file.save(f"upload.{detected.extension}", uploaded_file, save=False)
            stored.append(asset.file)
            if detected.thumbnail is not None:
                asset.thumbnail.save("thumb.webp", ContentFile(detected.thumbnail), save=False)
                stored.append(asset.thumbnail)
            asset.save()
    except Exception:
        for field_file in stored:
            field_file.storage.delete(field_file.name)
        raise
    return asset


def media_asset_json(asset: MediaAsset) -> dict:
    """What the editor's media picker needs to show an asset."""
    return {
        "id": asset.pk,
        "thumb_url": asset.thumbnail.url if asset.thumbnail else None,
        "url": asset.file.url,
        "name": asset.original_name,
        "kind": asset.kind,
        "size": asset.size_bytes,
        "alt": asset.alt_text,
    }
