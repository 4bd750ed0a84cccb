"""`harness prepare ASSET`: fetch, verify and place a data bundle or the official evaluator."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="prepare")
@click.argument("asset", required=False)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the asset lands (default: $HARNESS_DATA_DIR/ASSET, else the "
    "manifest's folder, e.g. spider/data).",
)
@click.option(
    "--from",
    "from_",
    metavar="PATH_OR_URL",
    multiple=True,
    help="A local copy: a mirror folder or URL holding the archive under its manifest "
    "name, the archive file itself, or a git repository (official-evaluator). Repeat it "
    "to cover companions too: --from test-suite-sql-eval/ --from punkt_tab.zip (or an "
    "nltk_data folder). With --from and no punkt_tab among them, the evaluator gets a "
    "minimal one (recorded in its summaries).",
)
@click.option(
    "--allow-unverified",
    is_flag=True,
    help="Unpack an archive whose sha256 the manifest does not pin yet "
    "(its hash is printed and recorded).",
)
@click.option("--force", is_flag=True, help="Fetch again even if already prepared.")
@click.option("--list", "list_assets", is_flag=True, help="List the assets and their sources.")
def command(
    asset: str | None,
    data_dir: Path | None,
    from_: tuple[str, ...],
    allow_unverified: bool,
    force: bool,
    list_assets: bool,
) -> None:
    """Fetch ASSET (spider, spider-testsuite, bird-dev, bird-minidev, official-evaluator),
    verify its sha256 before unpacking and every database after, and put it in place.
    A second run only re-verifies."""
    from harness.errors import ConfigError
    from harness.prepare.install import describe_assets, prepare

    if list_assets:
        click.echo("\n".join(describe_assets()))
        return
    if not asset:
        raise ConfigError("name an asset to prepare (see `harness prepare --list`)")
    result = prepare(
        asset, data_dir=data_dir, from_=from_, allow_unverified=allow_unverified, force=force
    )
    click.echo("\n".join(result.lines()))
