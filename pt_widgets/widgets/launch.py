"""``pt-widgets lab``: the local workspace plus JupyterLab with the quickstart open.

    pt-widgets lab [--notebook PATH] [--port 8888] [--no-browser] [jupyter lab options…]

(``python -m pt_widgets.widgets`` is the same command.) The quickstart ships inside the
package (``pt_widgets/notebooks/quickstart.ipynb``, so it works from a wheel); it is copied
into the current folder when that folder has none, and a file already there is never
overwritten (it is the user's, maybe with their edits). The command uses the local workspace
that is already running (``~/.pt_widgets`` or ``$PT_WIDGETS_HOME``) or starts one
(``python -m pt_widgets.local serve``) and stops it again on exit. JupyterLab (and so its
kernels) gets ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` of the local workspace in its
environment, so ``App()`` talks to it even when a Databricks profile is configured.

JupyterLab opens without its first-run question ("Would you like to get notified about
official Jupyter news?"): for this launch only, the announcements plugin is disabled the way
JupyterLab documents (``jupyter labextension disable
@jupyterlab/apputils-extension:announcements`` writes the same ``labconfig/page_config.json``),
in a config folder of our own put first on ``JUPYTER_CONFIG_PATH``. The user's own JupyterLab
settings are neither read nor written.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

READY_LINE = "pt-widgets local workspace ready at"
START_TIMEOUT_S = 180
QUICKSTART = "quickstart.ipynb"
# the JupyterLab plugin that asks about, fetches and shows news and update checks
ANNOUNCEMENTS_PLUGIN = "@jupyterlab/apputils-extension:announcements"


def packaged_quickstart() -> bytes:
    """The quickstart notebook as shipped in the package (wheel, sdist or source tree alike)."""
    return (importlib.resources.files("pt_widgets") / "notebooks" / QUICKSTART).read_bytes()


def ensure_quickstart(folder: Path) -> Path:
    """``folder/quickstart.ipynb``, copied from the package only when no such file exists.

    Created with exclusive mode, so even a file that appears meanwhile is never overwritten.
    """
    target = folder / QUICKSTART
    try:
        with target.open("xb") as out:
            out.write(packaged_quickstart())
    except FileExistsError:
        return target
    except OSError as err:
        raise SystemExit(f"Cannot copy the quickstart into {folder} ({err.strerror}): run "
                         "`pt-widgets lab` in a folder you can write, or pass --notebook.") from err
    print(f"pt_widgets: copied the quickstart to {target}", flush=True)
    return target


def choose_notebook(explicit: str | None) -> Path:
    """The notebook to open: ``--notebook`` (which must exist), else ``./quickstart.ipynb``."""
    if explicit is None:
        return ensure_quickstart(Path.cwd())
    path = Path(explicit).expanduser().resolve()
    if not path.is_file():
        raise SystemExit(f"--notebook {explicit}: no such notebook.")
    return path


def quiet_lab_config(home: Path) -> Path:
    """A Jupyter config folder whose ``labconfig/page_config.json`` disables the announcements
    plugin (no news prompt, no update check); returned to be put on ``JUPYTER_CONFIG_PATH``."""
    folder = home / "jupyter-config"
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    page_config = {"disabledExtensions": {ANNOUNCEMENTS_PLUGIN: True}}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=2))
    return folder


def lab_environment(host: str, token: str, config_dir: Path) -> dict[str, str]:
    """JupyterLab's (and its kernels') environment: the local workspace, the quiet config."""
    env = dict(os.environ, DATABRICKS_HOST=host, DATABRICKS_TOKEN=token)
    env.pop("DATABRICKS_CONFIG_PROFILE", None)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(config_dir), *filter(None, [os.environ.get("JUPYTER_CONFIG_PATH")])])
    return env


def lab_command(notebook: Path, lab_options: list[str]) -> list[str]:
    """``jupyter lab`` serving the notebook's folder, with the notebook as the landing page."""
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={notebook.parent}",
               f"--LabApp.default_url=/lab/tree/{notebook.name}"]
    if os.geteuid() == 0 and "--allow-root" not in lab_options:
        command.append("--allow-root")
    return [*command, *lab_options, notebook.name]


def start_workspace(log: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m pt_widgets.local serve`` and wait for its ready line.

    Its output goes to ``log``; its ``note:``/``WARNING`` lines (e.g. how to install a
    missing model package) are shown on the console too.
    """
    print("pt_widgets: starting the local workspace (first start loads the models)…",
          flush=True)
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    # 8765 when free; else (or when another launch took it between the check and the bind)
    # any free port: the kernels are told the host, so the port is only a convenience
    for port in ("8765", "0") if _port_free(8765) else ("0",):
        started = _serve(port, env, log)
        if started is not None:
            return started
    raise SystemExit(f"The local workspace did not start; see {log}.")


def _serve(port: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[str], str] | None:
    """The server and its host once ready; ``None`` if it exited first (e.g. port taken)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pt_widgets.local", "serve", "--port", port],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    host: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        with log.open("a") as out:
            for line in proc.stdout:
                if line.startswith("export DATABRICKS_TOKEN"):
                    line = "export DATABRICKS_TOKEN=…\n"  # never echo the token
                out.write(line)
                out.flush()
                if line.startswith(("note:", "WARNING")):
                    print(f"pt_widgets: {line}", end="", file=sys.stderr, flush=True)
                if line.startswith(READY_LINE):
                    host.append(line.split()[-1])
                    ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if ready.wait(START_TIMEOUT_S) and host:
        return proc, host[0]
    if not ready.is_set():  # still starting after the timeout: a hang, not a taken port
        _stop(proc)
        raise SystemExit(f"The local workspace did not start; see {log}.")
    _stop(proc)  # its output ended: it is exiting (or has)
    return None


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def launch(notebook_option: str | None, lab_options: list[str]) -> int:
    """Run ``pt-widgets lab``; returns JupyterLab's exit status (0 after Ctrl+C/SIGTERM)."""
    if not _has_jupyterlab():
        raise SystemExit('JupyterLab is not installed: pip install "pt_widgets[local]"')
    notebook = choose_notebook(notebook_option)

    from ..workspace import find_local_workspace, pt_widgets_home

    home = pt_widgets_home()
    home.mkdir(parents=True, exist_ok=True)
    server: subprocess.Popen[str] | None = None
    found = find_local_workspace()
    if found is None:
        log = home / "local-workspace.log"
        server, _ = start_workspace(log)
        found = find_local_workspace(timeout=10)  # its discovery file precedes the ready line
        if found is None:
            _stop(server)
            raise SystemExit(f"The local workspace started but cannot be found; see {log}.")
    host, token = found
    print(f"pt_widgets: local workspace at {host}", flush=True)

    print(f"pt_widgets: opening {notebook.name} in JupyterLab; run its first cell to see the "
          "App.", flush=True)
    lab = subprocess.Popen(lab_command(notebook, lab_options), cwd=notebook.parent,
                           env=lab_environment(host, token, quiet_lab_config(home)))

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM: shut down like Ctrl+C, children included

    signal.signal(signal.SIGTERM, stop)
    try:
        return lab.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(lab)  # JupyterLab shuts its kernels down on SIGTERM
        if server is not None:
            _stop(server)


def main(argv: list[str] | None = None) -> int:
    """``python -m pt_widgets.widgets``: ``pt-widgets lab`` under its older name."""
    parser = argparse.ArgumentParser(prog="python -m pt_widgets.widgets", allow_abbrev=False,
                                     description="The same as `pt-widgets lab`.")
    parser.add_argument("--notebook", help="open this notebook instead of ./quickstart.ipynb")
    args, lab_options = parser.parse_known_args(argv)
    return launch(args.notebook, lab_options)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _has_jupyterlab() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyterlab") is not None
