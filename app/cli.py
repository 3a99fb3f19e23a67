"""The `mianjing` command: serve, db upgrade, content check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.content.loader import ContentInvalid, load_content
from app.settings import get_settings

cli = typer.Typer(help="面经 Mianjing: interview practice service.", no_args_is_help=True, pretty_exceptions_enable=False)
content_cli = typer.Typer(help="Question banks and rounds.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(content_cli, name="content")
cli.add_typer(db_cli, name="db")


@content_cli.command("check")
def content_check(directory: Annotated[Path | None, typer.Argument(help="content folder")] = None) -> None:
    """Validate every bank and round; print each problem as file:line: message."""
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


@content_cli.command("calculators")
def content_calculators() -> None:
    """List the calculators for generated items, with their parameters and defaults."""
    from app.scoring.calculators import CALCULATORS

    for calc in CALCULATORS.values():
        typer.echo(calc.describe())
        typer.echo("")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
