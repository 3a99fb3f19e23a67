"""A bank's own files (images an import brought: content/banks/assets/<bank>/<file>), at /content/assets/.

The importers name each file after a hash of its bytes, so a URL never changes meaning and may be cached for
good; a name without one is revalidated like any content."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from app.content.banks import ID_RE
from app.errors import NotFound

router = APIRouter(include_in_schema=False)
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$")
HASHED_RE = re.compile(r"^[0-9a-f]{8,}-")  # the importers' <sha256[:8]>-<name>
TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml", ".webp": "image/webp"}


@router.get("/content/assets/{bank}/{name}")
def content_asset(request: Request, bank: Annotated[str, PathParam(max_length=64)],
                  name: Annotated[str, PathParam(max_length=201)]) -> FileResponse:
    media = TYPES.get(Path(name).suffix.lower())
    if not ID_RE.match(bank) or not NAME_RE.match(name) or media is None:
        raise NotFound("no such file")
    path = Path(request.app.state.settings.content_dir) / "banks" / "assets" / bank / name
    if not path.is_file():
        raise NotFound("no such file")
    cache = "public, max-age=31536000, immutable" if HASHED_RE.match(name) else "no-cache"
    # An SVG could carry script: served as an image with a sandboxing CSP, never as a page.
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"}
    return FileResponse(path, media_type=media, headers=headers)
