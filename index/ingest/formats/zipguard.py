"""Decompression-bomb check for zip-based formats (docx, xlsx, pptx).

A 1 MB file can declare (or secretly hold) a member that inflates to gigabytes, and the
format libraries read members whole. Before a library sees the file, the declared sizes
are summed against a limit, then every member is inflated in small pieces and counted,
so a member that lies about its size is caught with constant memory.
"""

from __future__ import annotations

import io
import zipfile

from wenda.index.errors import UnreadableDocumentError

_PIECE = 1 << 16


def check_zip(data: bytes, limit: int, kind: str) -> None:
    """Raise ``UnreadableDocumentError`` unless ``data`` is a zip that inflates to <= limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableDocumentError(f"corrupt {kind}: not a zip file ({kind}损坏)") from exc
    with archive:
        members = archive.infolist()
        declared = sum(info.file_size for info in members)
        if declared > limit:
            raise _bomb(kind, declared, limit)
        total = 0
        for info in members:
            try:
                with archive.open(info) as member:
                    while piece := member.read(_PIECE):
                        total += len(piece)
                        if total > limit:
                            raise _bomb(kind, total, limit)
            except UnreadableDocumentError:
                raise
            except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError) as exc:
                # zipfile stops at the declared size, so a member larger than it declares
                # ends in a CRC error here.
                raise UnreadableDocumentError(
                    f"corrupt {kind}: member {info.filename!r}: {type(exc).__name__} ({kind}损坏)"
                ) from exc


def _bomb(kind: str, size: int, limit: int) -> UnreadableDocumentError:
    return UnreadableDocumentError(
        f"{kind} inflates to more than {limit} bytes ({size}): possible decompression bomb"
        f" (解压后过大)"
    )
