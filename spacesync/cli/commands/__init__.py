"""One module per verb, imported only when its verb runs (start-up time: importing every
verb would pull aiohttp, lxml and tqdm into ``spacesync --version``).

``VERBS`` is the order they appear in ``spacesync --help``: (verb, module, one-line help).
The help must be the one the module's ``register`` gives (``tests/cli`` checks it): the
bucket-settings verbs take theirs from here (:func:`listed_help`).
"""

from __future__ import annotations

from typing import NamedTuple


class Verb(NamedTuple):
    name: str
    module: str  # under spacesync.cli.commands; its register() adds this verb's parser
    help: str


VERBS: tuple[Verb, ...] = (
    Verb("ls", "ls", "list buckets, or objects under s3://BUCKET[/PREFIX]"),
    Verb("cp", "cp", "copy files and objects"),
    Verb(
        "sync", "sync", "send only what changed between a directory and a prefix, or two prefixes"
    ),
    Verb("mv", "mv", "move files and objects"),
    Verb("rm", "rm", "delete objects"),
    Verb("du", "du", "count objects and bytes under s3://BUCKET[/PREFIX]"),
    Verb("cat", "cat", "print an object to standard output"),
    Verb("mb", "bucket", "make a bucket"),
    Verb("rb", "bucket", "remove a bucket (--force: empty it first)"),
    Verb("presign", "presign", "print a presigned URL for an object"),
    Verb("journals", "maintenance", "list (or --clean) the journals of interrupted transfers"),
    Verb("abort-uploads", "maintenance", "abort unfinished multipart uploads on the server"),
    Verb("local", "local", "run a local S3 server (SeaweedFS) to try spacesync without a Space"),
    Verb("acl", "acl", "show or set the ACL of a bucket or object"),
    Verb("cors", "cors", "show, set, delete or test a bucket's CORS rules"),
    Verb("lifecycle", "lifecycle", "show, set or delete a bucket's lifecycle rules"),
    Verb(
        "versioning", "versioning", "show or change bucket versioning; restore an earlier version"
    ),
    Verb("tagging", "tagging", "show, set or delete an object's tags"),
    Verb("policy", "policy", "show, set or delete a bucket policy"),
    Verb("website", "website", "show, set or delete a bucket's website configuration"),
    Verb("logging", "logging", "show or set a bucket's access logging"),
    Verb("presign-post", "presign_post", "print a browser upload form (URL and fields) as JSON"),
    Verb("doctor", "doctor", "check an endpoint: credentials, clock, addressing, what it supports"),
)


def listed_help(name: str) -> str:
    """A verb's help as ``VERBS`` lists it, for a module to register without writing it again."""
    return next(verb.help for verb in VERBS if verb.name == name)


#: Every verb module, in ``--help`` order of its first verb.
MODULES: tuple[str, ...] = tuple(dict.fromkeys(verb.module for verb in VERBS))
