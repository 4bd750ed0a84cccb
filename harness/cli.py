"""The `harness` command line: a thin layer that parses options and calls one function.

Subcommands live in `harness/commands/<name>.py` (each exposes `command`) and are
imported only when invoked, so `harness score` never pays for torch.
"""

from __future__ import annotations

import sys

import click

from harness import __version__
from harness.errors import HarnessError
from harness.extras import missing_extra
from harness.registry import Registry, instance_of

COMMANDS: Registry[click.Command] = Registry(
    "command",
    {
        name: f"harness.commands.{name}:command"
        for name in (
            "score", "selftest", "generate", "bench", "leaderboard", "diff", "prepare",
            "reproduce", "prompts", "gate", "failures", "sweep", "testsuite",
        )
    },
    instance_of(click.Command),
    "a click command",
    naming=lambda name: f"`harness {name}`",
)  # fmt: skip

SHORT_HELP: dict[str, str] = {
    "score": "Score a predictions file against a benchmark (no model needed).",
    "selftest": "Score gold against gold: must be 100% EX and EM.",
    "generate": "Run a model on a benchmark into a resumable run folder.",
    "bench": "Generate, then score, into one run folder.",
    "leaderboard": "Build the leaderboard (markdown, JSON, plots, index.html) from run folders.",
    "diff": "Paired comparison of two leaderboards, for a pull-request comment.",
    "prepare": "Fetch and verify data bundles and the official evaluator.",
    "reproduce": "Re-run a published table and say whether it reproduced.",
    "prompts": "Write the exact prompts of a prompt format (no model needed).",
    "gate": "Ship-or-fail decision over a list of conditions on a leaderboard.",
    "failures": "Export a run's failures: labels, DPO/ORPO preference pairs, summary.",
    "sweep": "Run a grid of configs (locally or on Ray) into one leaderboard.",
    "testsuite": "Build a distilled test suite of random databases for a benchmark.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return COMMANDS.names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return COMMANDS.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # A misspelled command gets the registry's suggestion, on one line.
        if args and not args[0].startswith("-") and args[0] not in COMMANDS:
            raise click.UsageError(COMMANDS.unknown(args[0]), ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing must not import every subcommand (and its heavy dependencies).
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Text-to-SQL benchmark harness: official-identical scoring with bootstrap CIs."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: every HarnessError becomes one line on stderr and exit status 2."""
    try:
        # Outside standalone mode click returns a command's exit code instead of exiting.
        result = cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except HarnessError as exc:
        # One line, whatever the wrapped library put in its message.
        message = " ".join(str(exc).split())
        click.echo(f"harness: error: {message}", err=True)
        return 2
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise  # our own broken import, or a core dependency: a bug, shown as one
        args = argv if argv is not None else sys.argv[1:]
        name = next((a for a in args if not a.startswith("-")), "")
        click.echo(
            f"harness: error: `harness {name}` needs the optional package "
            f"{exc.name!r}, which is not installed: pip install 'harness[{extra}]'",
            err=True,
        )
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("harness: aborted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
