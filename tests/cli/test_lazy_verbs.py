"""Verbs are listed from a registry and their modules imported only when they run."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from spacesync.cli import commands


def test_registry_matches_what_each_module_registers() -> None:
    registered: list[tuple[str, str, str]] = []
    for module_name in commands.MODULES:
        module = importlib.import_module(f"spacesync.cli.commands.{module_name}")
        subparsers = argparse.ArgumentParser().add_subparsers()
        module.register(subparsers, [])
        registered += [
            (action.dest, module_name, str(action.help)) for action in subparsers._choices_actions
        ]
    assert sorted(registered) == sorted(tuple(verb) for verb in commands.VERBS)


def test_version_and_help_import_no_verb_module() -> None:
    probe = (
        "import sys\n"
        "from spacesync.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('aiohttp', 'lxml', 'tqdm', 'spacesync.cli.commands.cp')"
        " if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for verb in commands.VERBS:
        assert verb.name in done.stdout


def test_sync_imports_no_bucket_settings() -> None:
    """``spacesync.settings`` (every bucket setting's XML) is start-up a sync does not need."""
    probe = (
        "import sys\n"
        "from spacesync.cli.main import main\n"
        "try:\n"
        "    main(['sync', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('spacesync.settings', 'spacesync.protocol.bucket_config', 'tqdm')"
        " if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
