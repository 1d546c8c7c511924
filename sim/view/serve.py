"""``sim view``: serve the interactive view (``sim.app``) with Solara, until stopped.

The page runs in a child process, ``solara run sim.app``, told the scenario and the seed
through the environment; this process checks what it can before starting it (the viz
extra is installed, the port is free), says where the page is once the server answers,
and stops the server on Ctrl-C (or SIGTERM, SIGHUP) and exits 0. Standard library only:
the command imports Solara, Mesa's visualization and the model only in the child.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.batch.pool import Interrupted

#: What ``sim.app`` imports beyond the model's own dependencies (the ``viz`` extra).
VIZ_MODULES = ("solara", "altair", "networkx")
SCENARIO_VARIABLE = "SIM_VIEW_SCENARIO"
SEED_VARIABLE = "SIM_VIEW_SEED"
#: Seconds the server gets to stop after Ctrl-C before it is killed.
STOP_GRACE = 10.0


class ViewError(Exception):
    """The view cannot start: the viz extra is missing, or the port is taken."""


def missing_viz() -> list[str]:
    """The modules of the viz extra that are not installed."""
    return [m for m in VIZ_MODULES if importlib.util.find_spec(m) is None]


def check_host(host: str) -> tuple[socket.AddressFamily, bool]:
    """``--host``: the address family it listens on and whether it is loopback (this
    machine only). An empty host is refused: servers read it as "every interface", IPv4
    and IPv6, which is the opposite of the default's "this machine only"."""
    if not host.strip():
        raise ViewError(
            "--host: an empty address listens on every interface; give one, e.g. 127.0.0.1 "
            "(this machine only) or ::1"
        )
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise ViewError(f"--host {host!r}: not an address of this machine ({exc})") from None
    family = infos[0][0]
    try:
        loopback = all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)
    except ValueError:
        loopback = False
    return socket.AddressFamily(family), loopback


def url_of(host: str, port: int) -> str:
    """The page's address: an IPv6 address goes in brackets (http://[::1]:8765/)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def check_port(host: str, port: int, family: socket.AddressFamily = socket.AF_INET) -> None:
    """Refuse a port another program listens on, before starting a server that would fail."""
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ViewError(
                f"--port: cannot listen on {host}:{port} ({exc.strerror}); choose another port"
            ) from None


def answers(host: str, port: int, family: socket.AddressFamily = socket.AF_INET) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def _listening_inodes(port: int) -> set[str] | None:
    """The inodes of the sockets listening on ``port`` (Linux's /proc), or None elsewhere."""
    found: set[str] = set()
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not any(t.exists() for t in tables):
        return None
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                found.add(inode)
    return found


def owns_port(pid: int, port: int) -> bool:
    """Whether process ``pid`` (our server) is the one listening on ``port``: another
    program that took the port first must not be reported as our page. True where this
    cannot be told (no /proc)."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return True
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return True
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def server_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.view.app",
        "--host",
        host,
        "--port",
        str(port),
        "--production",  # no file watcher, no reloads: a viewer, not a dev server
        "--no-open",
        "--no-check-version",  # else it asks the package index at each start
        "--log-level",
        "warning",
    ]


def server_environment(scenario: str, seed: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env[SCENARIO_VARIABLE] = str(Path(scenario).resolve())
    if seed is not None:
        env[SEED_VARIABLE] = str(seed)
    # Mesa 3.3's SolaraViz breaks one of Solara's rules of hooks harmlessly (a state hook
    # after an early return), and Solara warns about cookies over plain http on each page
    env["SOLARA_CHECK_HOOKS"] = "off"
    env["PYTHONWARNINGS"] = "ignore:Cookies with samesite"
    return env


def serve(scenario: str, host: str, port: int, seed: int | None = None) -> int:
    """Serve the view of ``scenario`` until Ctrl-C; 0 once stopped, or the server's status
    if it ends by itself."""
    missing = missing_viz()
    if missing:
        raise ViewError(
            f"needs the viz extra ({', '.join(missing)} not installed): "
            "pip install -e '.[viz]' (or 'sim[viz]')"
        )
    family, loopback = check_host(host)
    if not loopback:
        print(
            f"warning: sim view: --host {host} is not a loopback address: anyone who can reach "
            "this machine can open the page and run the model",
            file=sys.stderr,
            flush=True,
        )
    check_port(host, port, family)
    # the server's stderr: its start-up failure told in one line, the rest replayed after
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen(
        server_command(host, port),
        env=server_environment(scenario, seed),
        stdin=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        url = url_of(host, port)
        # Report only once *our* server holds the port: a second view started at the same
        # moment finds the first one answering, and must not print its address.
        while server.poll() is None and not (
            answers(host, port, family) and owns_port(server.pid, port)
        ):
            time.sleep(0.2)
        if server.poll() is not None:
            log.seek(0)
            said = [line.strip() for line in log.read().splitlines() if line.strip()]
            why = f" ({one_line_of(said[-1])})" if said else ""
            print(
                f"error: sim view: --port: the server could not listen on {host}:{port}{why}; "
                "choose another port",
                file=sys.stderr,
            )
            return 2
        print(f"sim view: {Path(scenario).name} at {url} (Ctrl-C to stop)", flush=True)
        status = server.wait()
        _replay(log)
        print(f"error: sim view: the server stopped with status {status}", file=sys.stderr)
        return status or 1
    except (KeyboardInterrupt, Interrupted):  # Ctrl-C; SIGTERM or SIGHUP (`sim` raises)
        stop(server)
        _replay(log)
        print("sim view: stopped", flush=True)
        return 0
    finally:
        log.close()


def one_line_of(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:200]


def _replay(log) -> None:
    """What the server wrote to stderr while it ran (warnings of a page), shown after it."""
    log.seek(0)
    text = log.read()
    if text.strip():
        sys.stderr.write(text)


def stop(server: subprocess.Popen) -> None:
    """Ask the server to stop (SIGTERM: a child started in the background ignores SIGINT),
    then kill it if it has not within ``STOP_GRACE`` seconds."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
