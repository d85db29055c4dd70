"""``ledgerctl bench``: the benchmark suite (bench/), beside the baselines, in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

AREAS = ("ingest", "rebuild", "audit", "reads")


def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: a smoke run of a minute or two.")
    ] = False,
    entries: Annotated[
        int | None,
        typer.Option(
            min=2000,
            help="Entries of the big ledger (default 1,000,000; 20,000 with --quick).",
            show_default=False,
        ),
    ] = None,
    postgres_url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL server to measure on (a database named bench is created there); "
            "the PostgreSQL parts are skipped, saying so, when it does not answer."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help=f"Measure only these areas (repeatable): {', '.join(AREAS)}."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write latest.md and latest.json (default bench/results)."),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Where the big ledger is cached (default bench/.cache)."),
    ] = None,
) -> None:
    """Run the benchmark suite and write bench/results/ (not part of the tests)."""
    from rich.console import Console

    from bench import bigledger, suite

    console = Console(stderr=True, highlight=False)
    unknown = sorted(set(only or ()) - set(AREAS))
    if unknown:
        console.print(f"[bold red]error:[/] unknown area(s) {', '.join(unknown)}; use {AREAS}")
        raise typer.Exit(2)
    options = suite.Options(
        quick=quick,
        entries=entries,
        postgres_url=postgres_url,
        only=frozenset(only or ()),
        out=out or suite.RESULTS,
        cache=cache or bigledger.CACHE,
    )
    runner = suite.Suite(options, say=lambda m: console.print(f"[bold]bench:[/] {m}"))
    report = runner.run()
    md, js = suite.write(report, options.out)
    for target in report["targets"]:
        colour = {True: "green", False: "red", None: "yellow"}[target["met"]]
        console.print(f"[{colour}]{target['verdict']:>12}[/]  {target['what']}")
    console.print(f"wrote {md} and {js} ({report['run']['seconds']:.0f} s)")
