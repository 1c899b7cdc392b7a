"""`cdnctl demo`: the main job on the bundled examples, for a first run."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from cdnctl.output import console
from cdnctl.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# (site, path, content type, time) requests that show each kind of rule deciding.
SAMPLES = [
    ("www.interieur.gouv.fr", "/", "text/html; charset=utf-8", None),
    ("www.interieur.gouv.fr", "/actualites/2027/communique.html", "text/html", None),
    ("www.interieur.gouv.fr", "/actualites/2027/photo.jpg", "image/jpeg", None),
    ("www.interieur.gouv.fr", "/espace-agents/login", "text/html", None),
    ("www.interieur.gouv.fr", "/resultats/2027/national.html", "text/html", "2027-04-25T21:00:00+02:00"),
    ("www.interieur.gouv.fr", "/resultats/2027/national.html", "text/html", "2027-05-02T12:00:00+02:00"),
    ("www.france2030-sommet.gouv.fr", "/programme.html", "text/html", None),
    ("www.journees-patrimoine.gouv.fr", "/carte/index.html", "text/html", "2027-09-18T10:00:00+02:00"),
    ("www.journees-patrimoine.gouv.fr", "/carte/index.html", "text/html", "2027-06-01T10:00:00+02:00"),
]


@click.command()
@click.option("--examples", "examples", type=click.Path(path_type=Path, file_okay=False),
              default=EXAMPLES, show_default=True, help="Examples directory (holds sites/).")
@click.pass_context
def demo(ctx: click.Context, examples: Path) -> None:
    """Validate the bundled example policies and explain sample requests."""
    from cdnctl.commands.policy import explain, sites, validate

    policy_dir = examples / "sites"
    ctx.obj = Settings(policy_dir=policy_dir)
    console.print(f"[bold]$ cdnctl validate {escape(str(policy_dir))}[/]")
    ctx.invoke(validate, policy_dir=policy_dir, strict=False, as_json=False)
    console.print("\n[bold]$ cdnctl sites[/]")
    ctx.invoke(sites, at=None, as_json=False)
    for site, path, ctype, at in SAMPLES:
        when = f" --at {at}" if at else ""
        console.print(f"\n[bold]$ cdnctl explain --site {site} --path {path} "
                      f"--content-type '{ctype}'{when}[/]")
        ctx.invoke(explain, site=site, path=path, content_type=ctype, at=at, as_json=False)


def register(group: click.Group) -> None:
    group.add_command(demo)
