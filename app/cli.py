"""The `mianjing` command: serve, db upgrade and prune, content check, import, export and publish, grade-open,
stats items."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from app.content.loader import Content, ContentInvalid, load_content
from app.settings import get_settings

cli = typer.Typer(help="面经 Mianjing: interview practice service.", no_args_is_help=True, pretty_exceptions_enable=False)
content_cli = typer.Typer(help="Question banks and rounds.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema and storage.", no_args_is_help=True)
cli.add_typer(content_cli, name="content")
cli.add_typer(db_cli, name="db")


@content_cli.command("check")
def content_check(
    directory: Annotated[Path | None, typer.Argument(help="content folder")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 1 on warnings too")] = False,
) -> None:
    """Validate every bank and round; print each problem as file:line: message, then each warning (near-
    duplicate stems) the same way. Errors exit 1; warnings only with --strict."""
    from app.content.near_duplicates import near_duplicate_warnings

    directory = directory or get_settings().content_dir
    try:
        content = load_content(directory)
    except ContentInvalid as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"{len(exc.errors)} error(s) in {directory}", err=True)
        raise typer.Exit(1) from None
    c = content.counts()
    by_type: dict[str, int] = {}
    for q in content.questions:
        by_type[q.type] = by_type.get(q.type, 0) + 1
    types = ", ".join(f"{k} {v}" for k, v in sorted(by_type.items()))
    typer.echo(f"OK {directory}: {c['questions']} questions ({types}) in {c['banks']} banks, "
               f"{c['rounds']} rounds; version {content.version}; {content.load_seconds * 1000:.0f} ms")
    warnings = near_duplicate_warnings(content.questions)
    for warning in warnings:
        typer.echo(f"{warning.file}:{warning.line}: 警告: {warning.message}", err=True)
    if warnings:
        typer.echo(f"{len(warnings)} warning(s) in {directory}", err=True)
        if strict:
            raise typer.Exit(1)


@content_cli.command("import")
def content_import(
    file: Annotated[Path, typer.Argument(help="the file to import", exists=True, dir_okay=False)],
    fmt: Annotated[str, typer.Option("--format", help="gift | moodle-xml | csv")],
    bank: Annotated[str, typer.Option("--bank", help="the new bank's id (lower-case letters, digits, dashes)")],
    out: Annotated[Path, typer.Option("--out", help="a folder of banks, like content/banks: writes OUT/BANK.md")],
    title: Annotated[str | None, typer.Option(help="the bank's title (default: its id)")] = None,
) -> None:
    """Import a GIFT, Moodle XML or CSV file as a markdown bank: prints what was imported per type, what was
    skipped and why, and every warning; errors (file:line:column, or row and column) write nothing, exit 1."""
    import time

    from app.formats.registry import FormatError, read_bank
    from app.runtime.imports import write_bank_files

    started = time.perf_counter()

    def stage(what: str) -> None:
        typer.echo(f"[{time.perf_counter() - started:6.2f} s] {what}", err=True)

    stage(f"reading {file} ({file.stat().st_size / 1e6:.1f} MB)")
    data = file.read_bytes()
    stage(f"parsing {fmt}")

    def progress(done: int, total: int) -> None:
        typer.echo(f"\r  {done:,}/{total:,} question blocks parsed", err=True, nl=done == total)

    try:
        done = read_bank(data, fmt=fmt, bank=bank, file=file.name, title=title, progress=progress)
    except FormatError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    stage("written as markdown and checked")
    summary = done.summary()
    for kind in ("errors", "skipped", "warnings"):
        for note in summary[kind]:
            typer.echo(f"{note['where']}: {kind.rstrip('s')}: {note['message']}", err=True)
    if not done.ok:
        typer.echo(f"{len(summary['errors'])} error(s): nothing written", err=True)
        raise typer.Exit(1)
    stage(f"writing {out / (bank + '.md')}")
    write_bank_files(out, done)
    types = ", ".join(f"{k} {v}" for k, v in summary["imported"].items())
    typer.echo(f"imported {summary['questions']} question(s) ({types}) into {out / (bank + '.md')}; "
               f"skipped {len(summary['skipped'])}, {len(summary['warnings'])} warning(s), "
               f"{len(summary['assets'])} asset(s)")


@content_cli.command("export")
def content_export(
    fmt: Annotated[str, typer.Option("--format", help="gift | moodle-xml | csv | apkg")],
    out: Annotated[Path, typer.Option("--out", help="the file to write")],
    bank: Annotated[str | None, typer.Option("--bank", help="one bank (default: every bank)")] = None,
    instances: Annotated[int, typer.Option(min=1, max=100, help="drawn instances per generated item")] = 1,
    directory: Annotated[Path | None, typer.Option("--content", help="content folder")] = None,
) -> None:
    """Export the loaded banks; generated items become INSTANCES drawn items each (no target format has a
    parametric type), and every format carries Mianjing's own data so an import rebuilds the items."""
    from app.formats import ImportNote
    from app.formats.registry import FormatError, export_questions
    from app.runtime.imports import bank_assets

    directory = directory or get_settings().content_dir
    content = _check_or_exit(directory)
    banks = {b.id: b.title for b in content.banks}
    if bank is not None and bank not in banks:
        typer.echo(f"no bank {bank!r}; banks: {', '.join(sorted(banks))}", err=True)
        raise typer.Exit(2)
    questions = [q for q in content.questions if bank is None or q.bank == bank]
    notes: list[ImportNote] = []
    try:
        data = export_questions(questions, fmt, bank_titles=banks, instances=instances, notes=notes,
                                assets=bank_assets(directory))
    except FormatError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for note in notes:
        typer.echo(f"{note.kind}: {note.message}", err=True)
    out.write_bytes(data)
    generated = sum(q.type == "generated" for q in questions)
    note = f"; {generated} generated item(s) as {instances} drawn instance(s) each" if generated else ""
    typer.echo(f"wrote {len(questions)} question(s) to {out} ({len(data) / 1e3:.0f} kB){note}")


@content_cli.command("stats")
def content_stats(directory: Annotated[Path | None, typer.Argument(help="content folder")] = None) -> None:
    """Print the catalogue as markdown: questions per bank and type, topics, rounds with their sections'
    main questions, follow-ups and minutes (docs/content.md is this for the bundled folder)."""
    from app.content.catalogue import catalogue_markdown

    typer.echo(catalogue_markdown(_check_or_exit(directory or get_settings().content_dir)), nl=False)


@content_cli.command("calculators")
def content_calculators() -> None:
    """List the calculators for generated items, with their parameters and defaults."""
    from app.calculators import CALCULATORS

    for calc in CALCULATORS.values():
        typer.echo(calc.describe())
        typer.echo("")


@cli.command("grade-open")
def grade_open_file(
    file: Annotated[Path, typer.Argument(help="JSON lines: {\"id\": question id, \"answer\": text}; - for stdin")],
    directory: Annotated[Path | None, typer.Option("--content", help="content folder")] = None,
) -> None:
    """Grade open answers in bulk: each line comes back on stdout with its score, per-point verdicts and
    misconceptions (the grader practice and interviews use: the model grader when MIANJING_GRADER_URL is
    set, with "grader" saying who decided). Exit status 1 if any line had an error."""
    import json
    import sys

    from app.runtime.grader import grader_from_settings
    from app.scoring.batch import grade_lines

    settings = get_settings()
    grader = grader_from_settings(settings)
    directory = directory or settings.content_dir
    try:
        content = load_content(directory)
    except ContentInvalid as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    failed = 0
    with (sys.stdin if str(file) == "-" else file.open(encoding="utf-8", errors="surrogateescape")) as lines:
        for out in grade_lines(content, lines, grader.grade):
            failed += "error" in out
            typer.echo(json.dumps(out, ensure_ascii=False))
    if failed:
        typer.echo(f"{failed} line(s) could not be graded", err=True)
        raise typer.Exit(1)


def _check_or_exit(directory: Path) -> Content:
    try:
        return load_content(directory)
    except ContentInvalid as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"refusing to start: {len(exc.errors)} content error(s) in {directory}", err=True)
        raise typer.Exit(1) from None


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (SQLite file or PostgreSQL from MIANJING_DATABASE_URL)."""
    settings = get_settings()
    _migrate_or_exit(settings.database_url)
    typer.echo(f"database at head: {_redact(settings.database_url)}")


@db_cli.command("prune")
def db_prune(
    days: Annotated[int | None, typer.Option(min=1, help="default MIANJING_GUEST_TTL_DAYS")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="accounts per write transaction")] = 10,
    pause: Annotated[float, typer.Option(min=0, help="seconds between batches, for the service's own writers")] = 0.1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be removed")] = False,
) -> None:
    """Remove guest accounts nobody kept that made no request for MIANJING_GUEST_TTL_DAYS days, with their
    sessions, interviews, answers, attempts and review cards; safe while the service runs (small batches,
    each its own short write)."""
    from datetime import UTC, datetime

    from app.db import MigrationFailed, make_engine, require_head
    from app.retention import count_expired, cutoff_for, prune_guests

    settings = get_settings()
    try:
        require_head(settings.database_url)  # a cron job never migrates; it waits for the service to
    except MigrationFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    days = days or settings.guest_ttl_days
    cutoff = cutoff_for(datetime.now(UTC), days)
    engine = make_engine(settings.database_url)
    try:
        if dry_run:
            typer.echo(f"would remove {count_expired(engine, cutoff)} guest account(s) not seen since "
                       f"{cutoff:%Y-%m-%d %H:%M} UTC ({days} days)")
            return
        done = prune_guests(engine, cutoff, batch_size=batch_size, pause_s=pause)
    finally:
        engine.dispose()
    typer.echo(f"removed {done.summary()} in {done.batches} batch(es); guests not seen since "
               f"{cutoff:%Y-%m-%d %H:%M} UTC ({days} days)")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default MIANJING_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default MIANJING_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="default MIANJING_WORKERS")] = None,
    watch: Annotated[bool, typer.Option(help="restart when a content or code file changes (development)")] = False,
) -> None:
    """Check the content, apply migrations, and serve with uvicorn."""
    import uvicorn

    settings = get_settings()
    c = _check_or_exit(settings.content_dir).counts()
    typer.echo(f"content checked: {c['questions']} questions, {c['banks']} banks, {c['rounds']} rounds "
               f"in {settings.content_dir}")
    if settings.migrate_on_start:  # here once with a plain message; each worker's startup then finds it at head
        _migrate_or_exit(settings.database_url)
        typer.echo(f"database at head: {_redact(settings.database_url)}")
    extra = {}
    if watch:
        # Every restart follows an edit of the folder: in development the folder is the source of truth.
        os.environ["MIANJING_PUBLISH_ON_START"] = "true"
        extra = {"reload": True, "reload_dirs": [str(settings.content_dir), "app"], "reload_includes": ["*.md", "*.py"]}
    uvicorn.run(
        "app.main:app", host=host or settings.host, port=port or settings.port,
        workers=None if watch else (workers or settings.workers), log_level=settings.log_level,
        # X-Forwarded-For and -Proto are believed only from MIANJING_TRUSTED_PROXIES. Uvicorn's own default
        # trusts 127.0.0.1, which would let any local client name its own address and slip every limit; an
        # empty string trusts nobody (uvicorn parses it into no address and no network).
        proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies, **uvicorn_limits(settings), **extra,
    )


def uvicorn_limits(settings) -> dict:
    """The limits on a request's head and on idle connections, which only uvicorn can enforce (the app sees
    a request once its head has arrived; docs/security.md)."""
    return {"http": settings.http_parser, "timeout_keep_alive": settings.keep_alive_timeout_s,
            "limit_concurrency": settings.limit_concurrency or None,
            "h11_max_incomplete_event_size": settings.max_header_bytes}


@content_cli.command("publish")
def content_publish() -> None:
    """Validate MIANJING_CONTENT_DIR and record its version as the published one: every running worker whose
    folder holds that version serves it within a second; one whose folder holds another keeps its own and
    says so on /readyz."""
    from app.db import make_engine, request_session
    from app.runtime.publishing import publish

    settings = get_settings()
    _migrate_or_exit(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with request_session(engine) as db:
            done = publish(db, settings.content_dir, "cli")
    except ContentInvalid as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"not published: {len(exc.errors)} error(s) in {settings.content_dir}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    c = done.content.counts()
    typer.echo(f"published version {done.content.version} (was {done.previous_version or 'none'}): "
               f"{c['questions']} questions, {c['banks']} banks, {c['rounds']} rounds")


@content_cli.command("reload")
def content_reload(
    url: Annotated[str, typer.Option(help="base URL of a running Mianjing")] = "http://127.0.0.1:8000",
) -> None:
    """Ask a running service to reload its content (uses MIANJING_ADMIN_TOKEN)."""
    import httpx

    token = get_settings().admin_token
    if not token:
        typer.echo("MIANJING_ADMIN_TOKEN is not set", err=True)
        raise typer.Exit(2)
    r = httpx.post(f"{url.rstrip('/')}/api/v1/admin/reload", headers={"Authorization": f"Bearer {token}"},
                   timeout=60)
    body = r.json()
    if r.status_code != 200:
        typer.echo(body.get("detail", r.text), err=True)
        for e in body.get("errors", []):
            typer.echo(f"{e['file']}:{e['line']}: {e['message']}", err=True)
        raise typer.Exit(1)
    typer.echo(f"reloaded: version {body['version']} ({body['questions']} questions, {body['banks']} banks, "
               f"{body['rounds']} rounds); +{len(body['added'])} -{len(body['removed'])} ~{len(body['changed'])}; "
               f"{body['seconds']} s")


stats_cli = typer.Typer(help="Statistics that find bad questions.", no_args_is_help=True)
cli.add_typer(stats_cli, name="stats")


@stats_cli.command("items")
def stats_items(
    marks_csv: Annotated[Path, typer.Option("--marks-csv", help="CSV: attempt id, one column per item (mark as a "
                                                                "fraction 0–1), optional summarks/total; - for stdin")],
) -> None:
    """Item statistics with Moodle's definitions (docs/statistics.md): one JSON line per item with its facility,
    sd, discrimination_index, discriminative_efficiency and effective_weight (fractions; null where undefined).
    Bad input exits 2 with the row and column."""
    import io
    import json
    import sys

    from app.stats.items import item_statistics
    from app.stats.marks_csv import MarksCsvError, decode, read_marks

    try:
        data = sys.stdin.buffer.read() if str(marks_csv) == "-" else marks_csv.read_bytes()
    except OSError as exc:
        typer.echo(f"{marks_csv}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    try:
        table = read_marks(io.StringIO(decode(data), newline=""))  # csv's own line ends, quoted ones included
    except MarksCsvError as exc:
        typer.echo(f"{marks_csv}: {exc}", err=True)
        raise typer.Exit(2) from None
    for row in item_statistics(table.accumulators):
        typer.echo(json.dumps({"item": row.item, "facility": row.facility, "sd": row.sd,
                               "discrimination_index": row.discrimination_index,
                               "discriminative_efficiency": row.discriminative_efficiency,
                               "effective_weight": row.effective_weight}, ensure_ascii=False))


@stats_cli.command("rebuild")
def stats_rebuild(
    directory: Annotated[Path | None, typer.Option("--content", help="content folder (default: the setting)")] = None,
) -> None:
    """Recompute the item statistics' running aggregates from every finished interview (after an upgrade,
    or to drop what deleted accounts had added). Option counts follow the question types of the content. One
    write transaction: finishes wait for it (on SQLite every writer does), so run it in a quiet hour."""
    import time
    from datetime import UTC, datetime

    from app.db import db_session, make_engine
    from app.item_stats.aggregates import rebuild

    settings = get_settings()
    content = _check_or_exit(directory or settings.content_dir)
    _migrate_or_exit(settings.database_url)
    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    try:
        with db_session(engine) as db:
            count = rebuild(db, content, datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(f"rebuilt the item statistics of {count} finished interview(s) in {time.perf_counter() - started:.1f} s")


user_cli = typer.Typer(help="Accounts.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")


@user_cli.command("create")
def user_create(
    username: str,
    admin: Annotated[bool, typer.Option("--admin", help="may reload content from the /admin page")] = False,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="8 to 256 characters (prompted when not given)")] = "",
) -> None:
    """Create an account (or make an existing one admin with --admin)."""
    from sqlmodel import Session

    from app.auth.passwords import hash_password
    from app.auth.rules import BadCredentials, login_problem, new_credentials, new_password
    from app.auth.sessions import find_user
    from app.db import make_engine
    from app.models import User

    username = username.strip()
    if problem := login_problem(username, password):
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    settings = get_settings()
    _migrate_or_exit(settings.database_url)
    with Session(make_engine(settings.database_url)) as db:
        user = find_user(db, username)
        try:  # the rules of the API and the register page; an existing name stays as it is
            if user is None:
                username, password = new_credentials(username, password)
                user = User(username=username)
            else:
                password = new_password(password)
        except BadCredentials as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        user.password_hash, user.is_admin = hash_password(password), admin or user.is_admin
        db.add(user)
        db.commit()
    typer.echo(f"user {username} saved{' (admin)' if admin else ''}")


@user_cli.command("reset-link")
def user_reset_link(
    username: str,
    base_url: Annotated[str | None, typer.Option(help="where candidates reach the service; default "
                                                      "http://MIANJING_HOST:MIANJING_PORT")] = None,
) -> None:
    """Print a one-time link that sets a new password for the account and ends all its sessions, valid for
    MIANJING_RESET_LINK_TTL_MINUTES (there is no mail server: hand it to its owner). Older links stop working."""
    from datetime import UTC, datetime, timedelta

    from app.auth.reset_links import RESET_PATH, issue_reset_link
    from app.auth.sessions import find_user
    from app.db import db_session, make_engine
    from app.errors import AppError

    settings = get_settings()
    _migrate_or_exit(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with db_session(engine) as db:
            user = find_user(db, username.strip())
            if user is None:
                typer.echo(f"no account named {username!r}", err=True)
                raise typer.Exit(1)
            try:
                token, expires = issue_reset_link(db, user, datetime.now(UTC),
                                                  timedelta(minutes=settings.reset_link_ttl_minutes))
            except AppError as exc:
                typer.echo(exc.message, err=True)
                raise typer.Exit(1) from None
    finally:
        engine.dispose()
    base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    typer.echo(f"{base}{RESET_PATH}{token}")
    typer.echo(f"valid once, until {expires:%Y-%m-%d %H:%M} UTC", err=True)


fsrs_cli = typer.Typer(help="The review scheduler fitted to each candidate (docs/fsrs-fit.md).", no_args_is_help=True)
cli.add_typer(fsrs_cli, name="fsrs")


@fsrs_cli.command("fit")
def fsrs_fit(user: int = typer.Option(..., "--user", help="the account's id")) -> None:
    """Fit one account's FSRS parameters to its review log now, in this process (as the service's fit process
    does), whatever its review count; refused while a fit of it runs. Prints the outcome as JSON."""
    import json
    from datetime import UTC, datetime

    from app.db import db_session, make_engine
    from app.models import SchedulerFit, User
    from app.practice import fit_job, scheduler_fits

    settings = get_settings()
    _migrate_or_exit(settings.database_url)
    engine = make_engine(settings.database_url)
    policy = scheduler_fits.FitPolicy.from_settings(settings)
    try:
        with db_session(engine) as db:
            if db.get(User, user) is None:
                typer.echo(f"no account with id {user}", err=True)
                raise typer.Exit(1)
            if not scheduler_fits.claim(db, user, datetime.now(UTC), policy, start_process=False):
                typer.echo(f"a fit of account {user} is running already", err=True)
                raise typer.Exit(1)
        outcome = fit_job.run(engine, user, holdout=policy.holdout, min_reviews=1)
        with db_session(engine) as db:
            row = db.get(SchedulerFit, user)
            assert row is not None
            typer.echo(json.dumps({"outcome": outcome, "state": row.state, "error": row.error,
                                   "metrics": row.metrics}, ensure_ascii=False))
    finally:
        engine.dispose()
    if outcome == "failed":
        raise typer.Exit(1)


def _migrate_or_exit(url: str) -> None:
    from app.db import MigrationFailed, migrate_under_lock

    try:
        migrate_under_lock(url)
    except MigrationFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
