"""Where the local workspace keeps its state, and how its token is chosen.

The data dir holds everything that must survive a restart: the endpoint store, MLflow's
registry and artifacts, the converted model weights, the calibration cache and the token.
The default location is also where the Python API looks for a running local workspace
(``workspace.json`` + ``token``), so ``pt_widgets.connect()`` works with nothing configured.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "PT_WIDGETS_LOCAL_TOKEN"
HOME_ENV = "PT_WIDGETS_HOME"
MODEL_CACHE_ENV = "PT_WIDGETS_MODEL_CACHE"


def default_data_dir() -> Path:
    """``$PT_WIDGETS_HOME/local``, else ``~/.pt_widgets/local``."""
    home = os.environ.get(HOME_ENV) or str(Path.home() / ".pt_widgets")
    return Path(home).expanduser() / "local"


@dataclass(frozen=True)
class Settings:
    """Resolved server settings; ``token`` is never printed by ``repr``."""

    data_dir: Path
    host: str
    port: int
    token: str

    def __repr__(self) -> str:
        return f"Settings(data_dir={str(self.data_dir)!r}, host={self.host!r}, port={self.port})"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "workspace.db"

    @property
    def mlflow_db_uri(self) -> str:
        return f"sqlite:///{self.data_dir / 'mlflow.db'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "mlartifacts"

    @property
    def models_cache_dir(self) -> Path:
        """Converted weights; ``$PT_WIDGETS_MODEL_CACHE`` lets several data dirs share one."""
        shared = os.environ.get(MODEL_CACHE_ENV)
        return Path(shared) if shared else self.data_dir / "model-cache"


def ensure_data_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def resolve_token(data_dir: Path, explicit: str | None = None) -> str:
    """The bearer token: ``--token``, else the environment, else the stored one, else a new one.

    The token in force is kept in ``token`` with mode 0600, so restarts keep the same
    credentials (clients configured earlier keep working) and ``pt-widgets local env`` can
    print them.
    """
    token = explicit or os.environ.get(TOKEN_ENV)
    path = data_dir / "token"
    if not token and path.exists():
        token = path.read_text().strip()
    if not token:
        token = "dapi" + secrets.token_hex(16)
    write_private(path, token + "\n")  # also a given token: `pt-widgets local env` reads it
    return token


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (0600), replacing it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def write_discovery(data_dir: Path, host_url: str) -> None:
    """Write ``workspace.json`` (host + pid, no secret) so clients can find this server."""
    info = {"host": host_url, "pid": os.getpid()}
    tmp = data_dir / "workspace.json.tmp"
    tmp.write_text(json.dumps(info))
    tmp.replace(data_dir / "workspace.json")


def clear_discovery(data_dir: Path) -> None:
    path = data_dir / "workspace.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def read_discovery(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / "workspace.json").read_text())
    except (OSError, ValueError):
        return None
