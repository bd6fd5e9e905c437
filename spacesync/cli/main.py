"""The ``spacesync`` command: parse arguments, run one verb, map errors to exit codes.

Each verb lives in its own module under :mod:`spacesync.cli.commands` and exposes
``register(subparsers, parents)``; this module only wires them and owns exit codes. A verb's
module is imported only when that verb is parsed (:class:`_LazyVerbs`): ``--help`` and
``--version`` import no HTTP, XML or progress-bar library.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from spacesync import __version__
from spacesync.cli import commands
from spacesync.errors import ConfigError, SpacesError

if TYPE_CHECKING:
    from spacesync.cli.context import Command

    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time
    _SubParsers = argparse._SubParsersAction

EPILOG = """\
configuration:
  endpoint     --endpoint-url, else $SPACES_ENDPOINT or $AWS_ENDPOINT_URL, else the
               profile's endpoint_url, else --region/$SPACES_REGION as
               https://REGION.digitaloceanspaces.com
  credentials  --access-key/--secret-key, else $SPACES_KEY/$SPACES_SECRET, else
               $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY, else ~/.aws/credentials
               (profile from --profile or $AWS_PROFILE)
  no Space yet? `spacesync local start` runs a local S3 server; `spacesync local env`
               prints the variables to use it.

exit codes:
  0 success, 1 an operation failed, 2 bad usage or configuration, 130 interrupted
"""


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options accepted before or after the verb.

    On the verb's parser the defaults are suppressed so that an option given before the
    verb is not reset by the verb's own (absent) copy of it."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--endpoint-url",
        default=default(None),
        metavar="URL",
        help="S3 endpoint, e.g. https://nyc3.digitaloceanspaces.com",
    )
    group.add_argument(
        "--region",
        default=default(None),
        help="Spaces region (picks https://REGION.digitaloceanspaces.com)",
    )
    group.add_argument(
        "--profile", default=default(None), help="profile in ~/.aws/credentials and ~/.aws/config"
    )
    group.add_argument(
        "--access-key",
        default=default(None),
        metavar="KEY",
        help="access key (prefer $SPACES_KEY: flags show up in `ps`)",
    )
    group.add_argument(
        "--secret-key",
        default=default(None),
        metavar="SECRET",
        help="secret key (prefer $SPACES_SECRET)",
    )
    group.add_argument(
        "--session-token",
        default=default(None),
        metavar="TOKEN",
        help="session token for temporary credentials",
    )
    group.add_argument(
        "--addressing-style",
        default=default("auto"),
        choices=["auto", "path", "virtual"],
        help="bucket in the host name (virtual) or in the path (default: auto)",
    )
    group.add_argument(
        "--no-verify-ssl",
        action="store_true",
        default=default(False),
        help="do not verify TLS certificates (insecure; for test endpoints)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="log every request (credentials and signatures redacted)",
    )


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other failure (the usage block is in --help).

    Subparsers are built with the class of their parent, so every verb inherits this."""

    def error(self, message: str) -> NoReturn:
        from spacesync.cli.context import EXIT_USAGE

        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spacesync",
        description="Fast, safe transfers between local disks and DigitalOcean Spaces "
        "or any S3-compatible store.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"spacesync {__version__}")
    _global_options(parser, suppress=False)
    verb_globals = argparse.ArgumentParser(add_help=False)
    _global_options(verb_globals, suppress=True)
    subparsers = parser.add_subparsers(
        dest="verb", metavar="COMMAND", required=True, action=_LazyVerbs
    )
    assert isinstance(subparsers, _LazyVerbs)
    subparsers.parents = [verb_globals]
    for verb in commands.VERBS:
        subparsers.add_lazy(verb)
    return parser


class _LazyVerbs(_SubParsers):
    """Subparsers whose verbs are listed (name and help) up front but whose parsers, and
    modules, are built only when the verb is parsed: one verb's import per run."""

    #: Stands for a verb whose module is not imported yet (membership is all argparse checks).
    _PENDING = argparse.ArgumentParser(add_help=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parents: list[argparse.ArgumentParser] = []
        self._modules: dict[str, str] = {}

    def add_lazy(self, verb: commands.Verb) -> None:
        self._modules[verb.name] = verb.module
        self._choices_actions.append(self._ChoicesPseudoAction(verb.name, (), verb.help))
        self._name_parser_map[verb.name] = self._PENDING

    def load(self, name: str) -> argparse.ArgumentParser:
        """The verb's real parser, importing its module (and its sibling verbs') first."""
        module_name = self._modules.get(name)
        if module_name is not None and self._name_parser_map.get(name) is self._PENDING:
            module = importlib.import_module(f"spacesync.cli.commands.{module_name}")
            for verb, owner in self._modules.items():
                if owner == module_name:
                    del self._name_parser_map[verb]
            listed = len(self._choices_actions)
            module.register(self, self.parents)
            del self._choices_actions[listed:]  # already listed, in --help order
        return self._name_parser_map[name]

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if isinstance(values, list) and values and isinstance(values[0], str):
            self.load(values[0])
        super().__call__(parser, namespace, values, option_string)


def _run(command: Command, args: argparse.Namespace) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; this keeps Windows usable
        return asyncio.run(command(args))
    return uvloop.run(command(args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from spacesync.cli.context import (
        EXIT_FAILED,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_USAGE,
        describe_error,
    )

    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not args.debug:
        logging.getLogger("spacesync").setLevel(logging.WARNING)
    try:
        return _run(args.command, args)
    except KeyboardInterrupt:
        print(
            "spacesync: interrupted: run the same command again to resume "
            "(unfinished transfers: spacesync journals)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except ConfigError as error:
        print(f"spacesync: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SpacesError as error:
        print(f"spacesync: {describe_error(error)}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # `spacesync cat … | head`: the reader left; that is not our failure.
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
