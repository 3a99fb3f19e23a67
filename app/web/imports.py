"""The admin page for questions in and out (/admin/imports): upload a file → its preview (what is imported per
type, skipped, not carried, the diff) → publish; download any bank in any format. Thin: app/formats and
app/runtime/imports do the work, shared with the admin API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, UploadFile
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ContentDep, SessionDep
from app.auth.rules import Text
from app.errors import AppError
from app.formats.registry import EXPORT_FORMATS, IMPORT_FORMATS, FormatError, read_bank
from app.runtime.imports import bank_file, preview, publish_import
from app.web.routes import VisitorDep, admin_user, render

router = APIRouter(include_in_schema=False)


def _page(visitor: VisitorDep, content, **context) -> Response:
    status = context.pop("status_code", 200)
    return render(visitor, "admin_imports.html", {
        "banks": content.banks, "import_formats": IMPORT_FORMATS, "export_formats": EXPORT_FORMATS,
        "form": {}, **context}, status_code=status)


@router.get("/admin/imports", response_class=HTMLResponse)
def imports_page(visitor: VisitorDep, content: ContentDep) -> Response:
    admin_user(visitor)
    return _page(visitor, content)


def _read(upload: UploadFile, fmt: str, bank: str, title: str, limit: int):
    data = upload.file.read(limit + 1)
    if len(data) > limit:  # (the request limit has stopped anything larger already; this guards the form)
        raise AppError(f"the file is larger than {limit} bytes", status_code=413)
    try:
        return read_bank(data, fmt=fmt, bank=bank.strip(), file=upload.filename or "upload", title=title.strip() or None)
    except FormatError as exc:
        raise AppError(str(exc), status_code=422) from None


Fmt = Annotated[Text, Form(max_length=32)]
Bank = Annotated[Text, Form(max_length=64)]
Title = Annotated[Text, Form(max_length=200)]


@router.post("/admin/imports/preview", response_class=HTMLResponse)
def preview_page(visitor: VisitorDep, content: ContentDep, file: UploadFile, format: Fmt, bank: Bank,
                 title: Title = "") -> Response:
    admin_user(visitor)
    settings = visitor.request.app.state.settings
    seen = preview(settings.content_dir, _read(file, format, bank, title, settings.max_import_bytes), content)
    form = {"format": format, "bank": bank, "title": title}
    if visitor.request.headers.get("HX-Request") == "true":
        return render(visitor, "_import_preview.html", {"preview": seen.body(), "form": form},
                      status_code=200 if seen.ok else 422)
    return _page(visitor, content, preview=seen.body(), form=form, status_code=200 if seen.ok else 422)


@router.post("/admin/imports/publish", response_class=HTMLResponse)
def publish_page(visitor: VisitorDep, db: SessionDep, file: UploadFile, format: Fmt, bank: Bank, digest: Annotated[Text, Form(max_length=64)], title: Title = "") -> Response:
    user = admin_user(visitor)
    settings = visitor.request.app.state.settings
    status, body = publish_import(visitor.request.app, db, _read(file, format, bank, title, settings.max_import_bytes),
                                  f"user:{user.username}", digest=digest or None)
    form = {"format": format, "bank": bank, "title": title}
    context = {"published": body, "published_status": status, "preview": None, "form": form}
    if visitor.request.headers.get("HX-Request") == "true":
        return render(visitor, "_import_preview.html", context, status_code=status)
    return _page(visitor, visitor.request.app.state.store.current, status_code=status, **context)


@router.get("/admin/banks/{bank}/export")
def export_page(visitor: VisitorDep, content: ContentDep, bank: Annotated[str, Path(max_length=64)],
                format: Annotated[str, Query(pattern="^(" + "|".join(EXPORT_FORMATS) + ")$")],
                instances: Annotated[int, Query(ge=1, le=100)] = 1) -> Response:
    admin_user(visitor)
    exported = bank_file(content, visitor.request.app.state.settings.content_dir, bank, format, instances)
    return Response(exported.data, media_type=exported.media_type, headers=exported.headers)
