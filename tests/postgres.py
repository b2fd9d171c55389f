"""A throwaway PostgreSQL cluster for the tests: Debian's `initdb` and `pg_ctl`, a temporary folder, a loopback port.

The binaries are found under /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH); `make setup-test`
installs Debian's `postgresql` when they are missing. PostgreSQL refuses to run as root, so when the tests run as
root (as they do in CI) the cluster runs as the unprivileged `nobody` user (`setpriv`), in a folder of its own under
the system's temporary folder. It listens on 127.0.0.1 only, trusts local connections (no password: nothing else
can reach it), and skips fsync (the tests kill the server, not the machine).

    cluster = PostgresCluster.create()
    cluster.start()
    url = cluster.create_database("t1")   # postgresql://postgres@127.0.0.1:PORT/t1
    cluster.kill(); cluster.start()       # a crash, then recovery
    cluster.destroy()
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
RUN_AS = "nobody"
"""The unprivileged user the cluster runs as when the tests run as root."""


def find_bin_dir() -> Path:
    """The newest of /usr/lib/postgresql/*/bin that has initdb; a clear error naming the fix when there is none."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError("PostgreSQL's initdb is not under /usr/lib/postgresql/*/bin: run `make setup-test` (it installs Debian's postgresql)")
    return found[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One cluster in `folder`, listening on 127.0.0.1:`port`."""

    def __init__(self, folder: Path, port: int, bin_dir: Path) -> None:
        self.folder, self.port, self.bin_dir = folder, port, bin_dir
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.user = RUN_AS if os.geteuid() == 0 else None

    @classmethod
    def create(cls) -> PostgresCluster:
        """initdb in a new temporary folder (owned by the user the server runs as)."""
        folder = Path(tempfile.mkdtemp(prefix="consult-pg-"))
        cluster = cls(folder, free_port(), find_bin_dir())
        if cluster.user is not None:
            entry = pwd.getpwnam(cluster.user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        cluster._run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        return cluster

    @property
    def url(self) -> str:
        """The `postgres` database, as the superuser."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _command(self, name: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / name), *args]
        if self.user is None:
            return command
        return ["setpriv", f"--reuid={self.user}", f"--regid={pwd.getpwnam(self.user).pw_gid}", "--clear-groups", "--", *command]

    def _run(self, name: str, *args: str) -> None:
        result = subprocess.run(self._command(name, *args), capture_output=True, text=True, cwd=self.folder, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{name} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{log}")

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A clean, fast shutdown (open connections are cut)."""
        if self.pid() is not None:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int | None:
        """The postmaster's process id, or None when it is not running."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, 0)
            return pid
        return None

    def kill(self) -> None:
        """`kill -9` the server and every backend, as a crash would; `start()` then recovers from the log."""
        pid = self.pid()
        if pid is None:
            return
        pids = [pid, *children(pid)]
        for each in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(each, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(alive(each) for each in pids) and time.monotonic() < deadline:
            time.sleep(0.02)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop it, cutting any connection still open to it."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.encode())

    def destroy(self) -> None:
        """Stop the server (killing it if it will not stop) and delete its folder."""
        try:
            self.stop()
        except RuntimeError:
            self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the backends of a postmaster)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError, IndexError):
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    return True
