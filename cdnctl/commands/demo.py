"""`cdnctl demo`: the main job, end to end, on the bundled examples.

The demo runs the very commands a user types (printed before each step) in a private
work directory: policies validated and explained, edge configs compiled (and checked
by varnishd/nginx when installed), example CDN logs ingested into the embedded
ClickHouse store, traffic statistics, the QS indicators of the example registers and
a weekly report. Nothing outside the work directory is touched; any failed step makes
the demo exit non-zero after the remaining steps have run.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import click
from rich.markup import escape

from cdnctl.errors import Exit
from cdnctl.output import console

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INTERIEUR = "www.interieur.gouv.fr"
PATRIMOINE = "www.journees-patrimoine.gouv.fr"  # off the CDN but for its September window
SOMMET = "www.france2030-sommet.gouv.fr"

# (site, path, content type, time) requests that show each kind of rule deciding.
SAMPLES = [
    (INTERIEUR, "/", "text/html; charset=utf-8", None),
    (INTERIEUR, "/actualites/2027/communique.html", "text/html", None),
    (INTERIEUR, "/actualites/2027/photo.jpg", "image/jpeg", None),
    (INTERIEUR, "/espace-agents/login", "text/html", None),
    (INTERIEUR, "/resultats/2027/national.html", "text/html", "2027-04-25T21:00:00+02:00"),
    (INTERIEUR, "/resultats/2027/national.html", "text/html", "2027-05-02T12:00:00+02:00"),
    (SOMMET, "/programme.html", "text/html", None),
    (PATRIMOINE, "/carte/index.html", "text/html", "2027-09-18T10:00:00+02:00"),
    (PATRIMOINE, "/carte/index.html", "text/html", "2027-06-01T10:00:00+02:00"),
]


class Step(NamedTuple):
    title: str
    args: list[str]
    expect: int = 0          # the exit code this step must give
    why: str = ""            # said when it is not 0


_NOT_MEASURED = ("exit 3 expected: an indicator without enough data is 'not measured', never a pass "
                 "(the example probes and registers cover April 2026, the simulated logs one week of "
                 "April 2027)")


def steps(examples: Path, work: Path) -> Iterator[Step]:
    """Each step's title and cdnctl arguments; paths are absolute so any cwd works."""
    sites, logs, registers = examples / "sites", examples / "logs", examples / "registers"
    yield Step("Validate the site policies", ["validate", str(sites)])
    yield Step("List the sites", ["sites"])
    for site, path, ctype, at in SAMPLES:
        args = ["explain", "--site", site, "--path", path, "--content-type", ctype]
        yield Step("Which rule decides", args + (["--at", at] if at else []))
    for target in ("varnish", "nginx"):
        yield Step(f"Compile the {target} edge config", ["compile", "--target", target, "-o",
                                                          str(work / "edge" / target)])
    edge_logs = str(work / "edge-logs")
    yield Step("Simulate a week of edge logs that follow the policies (election night included)", [
        "logs", "simulate", "--from", "2027-04-19", "--days", "7", "--requests-per-day", "8000",
        "--site", INTERIEUR, "--site", SOMMET, "-o", edge_logs])
    yield Step("Ingest the edge logs (nginx edge format)", ["logs", "ingest", "--format", "nginx-cdn",
                                                            "--settle", "0", edge_logs])
    yield Step("Ingest a W3C extended log", ["logs", "ingest", "--format", "w3c", "--site", PATRIMOINE,
                                             "--settle", "0", str(logs / "w3c")])
    yield Step("Ingest again: every file is skipped (exactly once)", [
        "logs", "ingest", "--format", "nginx-cdn", "--settle", "0", edge_logs])
    yield Step("Traffic statistics of the week", [
        "report", "stats", "--site", INTERIEUR, "--from", "2027-04-19", "--to", "2027-04-25", "--top", "5"])
    for register, name in (("incidents", "incidents.csv"), ("changes", "changes.csv"),
                           ("probes", "probes-2026-04.csv.gz")):
        yield Step(f"Import the {register} register", [register, "import", str(registers / name)])
    yield Step("Monthly quality indicators", ["report", "qs", "--month", "2026-04",
                                              "--as-of", "2026-05-15T00:00:00+02:00"], 3, _NOT_MEASURED)
    yield Step("Weekly report (HTML, CSV, XLSX, JSON)", [
        "report", "weekly", "--site", INTERIEUR, "--week", "2027-W16", "--out", str(work / "reports")])
    yield Step("Monthly report (QS-01..QS-07 and traffic)", [
        "report", "monthly", "--month", "2027-04", "--as-of", "2027-05-15T00:00:00+02:00",
        "--out", str(work / "reports")], 3, _NOT_MEASURED)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _run(args: list[str]) -> int:
    from cdnctl.cli import cli  # the demo is itself a command of this group

    try:
        cli.main(args=args, prog_name="cdnctl", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


@click.command()
@click.option("--examples", "examples", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=EXAMPLES, show_default=True, help="Examples directory (sites/, logs/, registers/).")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep the store, configs and reports here (default: a temporary directory, removed).")
def demo(examples: Path, workdir: Path | None) -> None:
    """Run the main job end to end on the bundled examples, printing each command."""
    with tempfile.TemporaryDirectory(prefix="cdnctl-demo-") as tmp:
        work = (workdir or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        env = {
            "CDNCTL_POLICY_DIR": str(examples / "sites"),
            "CDNCTL_CLICKHOUSE_URL": f"chdb://{work / 'store'}",
            "CDNCTL_STATE_DIR": str(work / "state"),
            "XDG_STATE_HOME": str(work / "state"),
        }
        failed: list[str] = []
        with _environment(env):
            store = env["CDNCTL_CLICKHOUSE_URL"]
            console.print(f"[dim]work directory: {escape(str(work))}; store {escape(store)}[/]")
            for step in steps(examples, work):
                command = escape(shlex.join(step.args))
                console.print(f"\n[bold]# {escape(step.title)}[/]\n[bold cyan]$ cdnctl {command}[/]")
                code = _run(step.args)
                if code != step.expect:
                    failed.append(f"cdnctl {shlex.join(step.args)} (exit {code}, expected {step.expect})")
                elif step.why:
                    console.print(f"[dim]{escape(step.why)}[/]")
        if failed:
            console.print("\n[red]demo: some steps failed:[/]")
            for line in failed:
                console.print(f"  {escape(line)}")
            raise SystemExit(int(Exit.INVALID))
        kept = f"; files kept in {work}" if workdir else ""
        console.print(f"\n[green]demo: every step succeeded[/]{escape(kept)}")


def register(group: click.Group) -> None:
    group.add_command(demo)
