"""A throwaway PostgreSQL 16 + pgvector for tests, from the binaries in the ``pgserver`` wheel.

The server runs the wheel's ``initdb`` and ``postgres`` directly (not pgserver's Python API):
data and unix sockets in a fresh temporary folder, listening only on 127.0.0.1 on a free
port, with fast, unsafe settings (fsync off; the ``settings`` argument adds to them or
overrides them). PostgreSQL refuses to run as root, so as root it runs as an unprivileged
user (``nobody``, created if absent) and the folder is handed to that user (the binaries are
copied into that folder first when the user cannot reach the virtualenv, say under /root);
otherwise it runs as whoever runs the tests. The server dies with the thread that started
it (parent-death signal), so even a killed test run leaks no server: start it from the main
thread (pytest fixtures do), not from a short-lived worker.

    server = PostgresServer()
    server.start()
    url = server.create_database()   # a fresh database with the vector extension
    server.restart()                  # or stop() ... start(): same port, same data
    server.stop()
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

PASSWORD = "askdocs-test-password"  # trust is off for TCP: URLs carry this password
SUPERUSER = "postgres"
RUN_AS = "nobody"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here (``pgserver`` is not installed); ``str()`` is one line."""


class PostgresFailed(RuntimeError):
    """initdb or the server failed; the message holds the tail of its log."""


def find_bindir() -> Path:
    """The ``bin`` folder of the PostgreSQL that ships inside the ``pgserver`` wheel."""
    spec = importlib.util.find_spec("pgserver")  # not imported: its __init__ has side effects
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable("pgserver is not installed (run scripts/setup.sh)")
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bindir / "postgres").is_file():
        raise PostgresUnavailable(f"pgserver has no PostgreSQL binaries in {bindir}")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reachable_by_others(path: Path) -> bool:
    """Whether any user may reach ``path`` (every folder above it lets others through)."""
    try:
        return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])
    except OSError:
        return False


def _sweep_stale(base: Path, older_than: float = 3600.0) -> None:
    """Delete the folders of servers that a killed test run left behind (an hour old, with
    no live server in them)."""
    for folder in base.glob("askdocs-pg-*"):
        try:
            if time.time() - folder.stat().st_mtime < older_than:
                continue
            pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid:
            try:
                os.kill(pid, 0)
                continue  # still serving
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        shutil.rmtree(folder, ignore_errors=True)


def _account(name: str) -> pwd.struct_passwd:
    """The unprivileged account to run as (created, without a home or shell, when absent)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, after the uid change
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder. ``url`` is the superuser's URL to the
    ``postgres`` database; :meth:`create_database` makes fresh ones."""

    def __init__(
        self,
        *,
        run_as: str = RUN_AS,
        copy_binaries: bool | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.bindir = find_bindir()
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self._account = _account(run_as) if os.geteuid() == 0 else None
        base = tempfile.gettempdir()
        if self._account is not None and not _reachable_by_others(Path(base)):
            base = "/tmp"
        _sweep_stale(Path(base))
        self.root = Path(tempfile.mkdtemp(prefix="askdocs-pg-", dir=base))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.logfile = self.root / "postgres.log"
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._initialised = False
        if copy_binaries is None:
            copy_binaries = self._account is not None and not _reachable_by_others(
                self.bindir / "postgres"
            )
        if self._account is not None:
            self.root.chmod(0o755)  # the user gets data/ and sockets/ of its own
        if copy_binaries:
            self.bindir = self._copy_binaries()

    # -- addresses -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str, *, password: str = PASSWORD) -> str:
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Initialise the cluster (first time) and start the server; returns when it accepts
        connections. A port taken meanwhile by someone else is replaced by another free one."""
        if self.running:
            return
        if not self._initialised:
            self._initdb()
        for attempt in range(3):
            self._spawn()
            try:
                self._wait_ready()
                return
            except PostgresFailed:
                self._kill()
                if attempt == 2 or "could not bind" not in self._log_tail():
                    raise
                self.port = _free_port()

    def stop(self) -> None:
        """Fast shutdown (clients are disconnected); waits for the server to exit."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
        self._process = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again (same port, same data)."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -- databases -----------------------------------------------------------------------------
    def create_database(self, name: str | None = None, *, vector: bool = True) -> str:
        """A new empty database (with the ``vector`` extension unless ``vector=False``);
        returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        if vector:
            with psycopg.connect(self.url_for(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- internals -----------------------------------------------------------------------------
    def _copy_binaries(self) -> Path:
        """Copy the install where the unprivileged user can run it, in the wheel's layout:
        PostgreSQL finds lib/ and share/ beside bin/, and its libpq in ../../../pgserver.libs."""
        package = self.bindir.parent.parent  # site-packages/pgserver
        target = self.root / "pg"
        shutil.copytree(
            self.bindir.parent,
            target / "pgserver" / "pginstall",
            ignore=shutil.ignore_patterns("include"),
            symlinks=True,
        )
        libs = package.parent / "pgserver.libs"
        if libs.is_dir():
            shutil.copytree(libs, target / "pgserver.libs", symlinks=True)
        return target / "pgserver" / "pginstall" / "bin"

    def _as_user(self) -> dict[str, object]:
        if self._account is None:
            return {"preexec_fn": _die_with_parent}
        return {
            "user": self._account.pw_uid,
            "group": self._account.pw_gid,
            "extra_groups": [],
            "preexec_fn": _die_with_parent,
        }

    def _initdb(self) -> None:
        self.data.mkdir()
        self.sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if self._account is not None:
            for path in (self.data, self.sockets, pwfile):
                os.chown(path, self._account.pw_uid, self._account.pw_gid)
        done = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
             "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True, cwd=self.root, env=self._env(), check=False,
            **self._as_user(),  # type: ignore[arg-type]
        )  # fmt: skip
        pwfile.unlink()
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
            raise PostgresFailed(f"initdb failed: {' | '.join(tail[-3:])}")
        self._initialised = True

    def _spawn(self) -> None:
        settings = {**self.settings, "listen_addresses": "127.0.0.1", "port": str(self.port),
                    "unix_socket_directories": str(self.sockets)}  # fmt: skip
        argv = [str(self.bindir / "postgres"), "-D", str(self.data)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        with open(self.logfile, "ab") as out:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.root, env=self._env(), **self._as_user(),  # type: ignore[arg-type]
            )  # fmt: skip

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise PostgresFailed(f"postgres exited: {self._log_tail()}")
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                if self._accepts():
                    return
            time.sleep(0.05)
        raise PostgresFailed(f"postgres not ready after {START_TIMEOUT:.0f} s: {self._log_tail()}")

    def _accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _kill(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None

    def _log_tail(self) -> str:
        try:
            lines = self.logfile.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:])

    def _env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TZ")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env["LC_ALL"] = "C"
        return env
