"""Admin: questions in and out. Upload a GIFT, Moodle XML or CSV file → a validated bank preview → publish it
through the one publishing module; download any bank in any export format. Needs MIANJING_ADMIN_TOKEN."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from app.api.admin import require_admin
from app.api.deps import ContentDep, SessionDep
from app.api.schemas import ErrorResponse, ImportPreviewResult, ImportPublishResult, as_json, errors
from app.content.banks import ID_RE
from app.errors import AppError
from app.formats.registry import EXPORT_FORMATS, EXPORT_MEDIA, IMPORT_FORMATS, FormatError, read_bank
from app.runtime.imports import bank_file, preview, publish_import

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses={
    401: {"model": ErrorResponse, "description": "admin token missing or wrong"},
    403: {"model": ErrorResponse, "description": "the admin API is off"},
    **errors(414, 422),
})

ImportFormat = Annotated[str, Query(pattern="^(" + "|".join(IMPORT_FORMATS) + ")$",
                                    description="gift | moodle-xml | csv")]
ExportFormat = Annotated[str, Query(pattern="^(" + "|".join(EXPORT_FORMATS) + ")$",
                                    description="gift | moodle-xml | csv | apkg")]
BankName = Annotated[str, Query(pattern=ID_RE.pattern, max_length=64, description="the bank's id")]
FileName = Annotated[str, Query(max_length=200, description="the uploaded file's name, for messages")]
Title = Annotated[str | None, Query(max_length=200, description="the bank's title (default: its id)")]
# (An empty body is an empty file, refused by the import with the reason like any other file.)
FileBody = Annotated[bytes, Body(media_type="application/octet-stream",
                                 description="the file itself, at most MIANJING_MAX_IMPORT_BYTES")]


def _read(data: bytes, fmt: str, bank: str, file: str, title: str | None):
    try:
        return read_bank(data, fmt=fmt, bank=bank, file=file, title=title)
    except FormatError as exc:
        raise AppError(str(exc), status_code=422) from None


@router.post("/imports", response_model=ImportPreviewResult, operation_id="preview_import",
             responses=errors(413, e422="the file does not import: `detail`, every error in `errors`, and the "
                                        "preview's other fields as on 200; nothing changed"))
def preview_import(request: Request, content: ContentDep, format: ImportFormat, bank: BankName,
                   data: FileBody = b"", file: FileName = "upload", title: Title = None) -> JSONResponse:
    """Read the file as bank `bank` and check it with the whole content tree (a clash of ids with another
    bank is found here): what would be imported per type, what is skipped and why, every warning, the bank's
    markdown and the added/changed/removed ids. Nothing changes; publish with the `digest`."""
    require_admin(request)
    seen = preview(request.app.state.settings.content_dir, _read(data, format, bank, file, title), content)
    return JSONResponse(seen.body(), status_code=200 if seen.ok else 422)


@router.post("/imports/publish", response_model=ImportPublishResult, operation_id="publish_import",
             responses=errors(413, e409="not the previewed import: preview it again",
                              e422="the file or the tree does not load: every error; the folder is as it was"))
def publish(request: Request, db: SessionDep, format: ImportFormat, bank: BankName, data: FileBody = b"",
            digest: Annotated[str | None, Query(max_length=64, description="the preview's digest")] = None,
            file: FileName = "upload", title: Title = None) -> JSONResponse:
    """Import the file again, write bank `bank` into the content folder and publish the tree (every worker
    serves it within a second). With `digest`, only the previewed import is published."""
    actor = require_admin(request)
    status, body = publish_import(request.app, db, _read(data, format, bank, file, title), actor, digest=digest)
    return JSONResponse(body, status_code=status)


# A download in the format's own media type (EXPORT_MEDIA): a file, whatever the type.
DOWNLOAD = {**as_json(errors(404)), 200: {"description": "the file", "content": {
    media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for _, media in EXPORT_MEDIA.values()}}}


@router.get("/banks/{bank}/export", operation_id="export_bank", response_class=Response, responses=DOWNLOAD)
def export_bank(request: Request, content: ContentDep,
                bank: Annotated[str, Path(max_length=64, description="a bank's id, or `all`")], format: ExportFormat,
                instances: Annotated[int, Query(ge=1, le=100, description="drawn instances per generated item")] = 1,
                ) -> Response:
    """Bank `bank` (or every bank: `all`) as a GIFT, Moodle XML, CSV or Anki (.apkg) file, from the content
    being served. Generated items go out as `instances` drawn items each, with Mianjing's own data beside
    them so an import into Mianjing rebuilds the template."""
    require_admin(request)
    exported = bank_file(content, request.app.state.settings.content_dir, bank, format, instances)
    return Response(exported.data, media_type=exported.media_type, headers=exported.headers)
