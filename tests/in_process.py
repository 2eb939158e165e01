"""The ``tongxing`` CLI run in the test process: what ``tests.processes.tongxing`` does, minus
the interpreter start (about a second of imports per call).

Use it for what a command does; keep ``tests.processes`` for what a process does (exit on a
signal, a real server, a fresh interpreter's start-up). The command sees exactly the
``TONGXING_*`` variables it is given, and the test process's environment, working directory,
standard streams and root logger are restored afterwards, whatever the command changed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

from click.testing import CliRunner

from tongxing.cli import main


def tongxing(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tongxing <args>`` to completion here; the result reads like a finished process
    (exit code 1 and a traceback on stderr for an uncaught exception, as Python's own)."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TONGXING_")}
    overrides.update(env)
    returncode = 0
    with (
        _restored_process_state(),
        contextlib.chdir(cwd or Path.cwd()),
        CliRunner().isolation(input=stdin or "", env=overrides) as (stdout, stderr, _),
    ):
        try:
            main(list(args))
        except SystemExit as exit_:
            returncode = _exit_code(exit_)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            returncode = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return subprocess.CompletedProcess(
        ["tongxing", *args], returncode=returncode, stdout=out, stderr=err
    )


def _exit_code(exit_: SystemExit) -> int:
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)  # what the interpreter does with sys.exit("message")
    return 1


@contextlib.contextmanager
def _restored_process_state() -> Iterator[None]:
    environment = dict(os.environ)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        if dict(os.environ) != environment:
            os.environ.clear()
            os.environ.update(environment)
        root.handlers[:] = handlers
        root.setLevel(level)


def add_person_and_app(env: Mapping[str, str]) -> None:
    """Through the CLI: the person zhangsan (:data:`tests.oidc.PASSWORD`) and the first-party
    code-flow app ``permits`` (:data:`tests.oidc.REDIRECT`, :data:`tests.oidc.SECRET`)."""
    from tests import oidc

    created = tongxing(
        "users", "create", "--username", "zhangsan", "--name", "张三", "--password-stdin",
        env=env, stdin=oidc.PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    registered = tongxing(
        "clients", "create", "--client-id", "permits", "--grant-type", "authorization_code",
        "--scope", "openid profile", "--redirect-uri", oidc.REDIRECT, "--first-party",
        "--client-secret-stdin",
        env=env, stdin=oidc.SECRET + "\n",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
