"""What the bucket-settings verbs share: sub-actions, target parsing, files, and the one
get/set/delete shape most of them are (:class:`Setting`)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Generic, Literal, NamedTuple, TypeAlias, TypeVar

from spacesync.cli.commands import listed_help
from spacesync.cli.context import EXIT_OK, Command, add_verb, emit_json, open_client
from spacesync.client import SpacesClient
from spacesync.errors import ConfigError
from spacesync.protocol import bucket_config as cfg
from spacesync.protocol.endpoint import validate_bucket_name
from spacesync.urls import S3Location, parse_s3_url

Parents = Sequence[argparse.ArgumentParser]
# A string: argparse._SubParsersAction is not subscriptable at runtime.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: The document a ``set`` action sends (rules, a configuration, a policy text, tags).
Document = TypeVar("Document")


def verb_group(
    subparsers: Subparsers, parents: Parents, name: str, *, help: str, description: str
) -> Subparsers:
    """A verb whose actions (get, set, delete…) are sub-commands."""
    parser = add_verb(subparsers, parents, name, _no_action, help=help, description=description)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def action(
    actions: Subparsers, parents: Parents, name: str, command: Command, *, help: str
) -> argparse.ArgumentParser:
    return add_verb(actions, parents, name, command, help=help)


async def _no_action(args: argparse.Namespace) -> int:  # pragma: no cover - argparse requires one
    raise ConfigError("choose an action")


def bucket_of(url: str) -> str:
    location = parse_s3_url(url)
    if location.key:
        raise ConfigError(f"{url} names an object; this setting belongs to a bucket (s3://BUCKET)")
    validate_bucket_name(location.bucket)
    return location.bucket


def object_of(url: str) -> S3Location:
    return parse_s3_url(url, require_key=True)


def read_file(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def read_config(path: str, *, root: str, lists: cfg.JsonLists) -> bytes:
    """A JSON (the aws cli's shape) or XML settings file, as the document ``cfg`` parses."""
    return cfg.parse_config_file(read_file(path), root=root, lists=lists)


def emit(value: Any) -> None:
    """A typed setting as one JSON document on stdout."""
    emit_json(_plain(value))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class FileOption:
    """The ``set`` action's ``--file``: where the whole document may come from."""

    metavar: str
    help: str
    required: bool = False


class ActionHelps(NamedTuple):
    """The one-line help of each action, as ``spacesync VERB --help`` lists them."""

    get: str
    set: str
    delete: str


def _no_note(document: object) -> str:
    return ""


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Setting(Generic[Document]):
    """A setting with get, set and delete actions, described once; :meth:`register` builds
    the parsers and commands, so every such verb parses, prints and fails alike.

    The client calls get the parsed URL (bucket settings read only its ``bucket``); ``read``
    makes the document ``set`` sends from the arguments, before any request."""

    name: str  # its one-line help is the one spacesync.cli.commands.VERBS lists
    description: str
    actions: ActionHelps
    get: Callable[[SpacesClient, S3Location, argparse.Namespace], Awaitable[Any]]
    read: Callable[[argparse.Namespace], Document]
    put: Callable[[SpacesClient, S3Location, Document, argparse.Namespace], Awaitable[None]]
    delete: Callable[[SpacesClient, S3Location], Awaitable[None]]
    target: Literal["bucket", "object"] = "bucket"
    noun: str = ""  # what the set/deleted lines call it, when not the verb's name
    file: FileOption | None = None
    get_arguments: Callable[[argparse.ArgumentParser], object] = _no_arguments
    set_arguments: Callable[[argparse.ArgumentParser], object] = _no_arguments
    show: Callable[[Any], None] = emit
    note: Callable[[Document], str] = _no_note  # appended to the "set" line, e.g. " (3 rules)"

    def register(self, subparsers: Subparsers, parents: Parents) -> Subparsers:
        """The verb and its get/set/delete actions; returns the actions for any extra ones."""
        url_help = "s3://BUCKET" if self.target == "bucket" else "s3://BUCKET/KEY"
        actions = verb_group(
            subparsers,
            parents,
            self.name,
            help=listed_help(self.name),
            description=self.description,
        )
        get = action(actions, parents, "get", self._get, help=self.actions.get)
        get.add_argument("url", help=url_help)
        self.get_arguments(get)
        put = action(actions, parents, "set", self._set, help=self.actions.set)
        put.add_argument("url", help=url_help)
        if self.file is not None:
            put.add_argument(
                "--file",
                required=self.file.required,
                metavar=self.file.metavar,
                help=self.file.help,
            )
        self.set_arguments(put)
        delete = action(actions, parents, "delete", self._delete, help=self.actions.delete)
        delete.add_argument("url", help=url_help)
        return actions

    def _where(self, url: str) -> S3Location:
        """The URL checked for this setting's target before anything is read or sent."""
        return S3Location(bucket_of(url)) if self.target == "bucket" else object_of(url)

    async def _get(self, args: argparse.Namespace) -> int:
        where = self._where(args.url)
        async with open_client(args) as client:
            value = await self.get(client, where, args)
        self.show(value)
        return EXIT_OK

    async def _set(self, args: argparse.Namespace) -> int:
        where = self._where(args.url)
        document = self.read(args)
        async with open_client(args) as client:
            await self.put(client, where, document, args)
        print(f"{self.noun or self.name} set: {where}{self.note(document)}")
        return EXIT_OK

    async def _delete(self, args: argparse.Namespace) -> int:
        where = self._where(args.url)
        async with open_client(args) as client:
            await self.delete(client, where)
        print(f"{self.noun or self.name} deleted: {where}")
        return EXIT_OK
