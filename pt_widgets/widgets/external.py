"""External model form: put an OpenAI-compatible server behind an endpoint, then query it.

Provider (``openai`` or ``custom``), base URL, the upstream's model name and its key. The key
is typed into a password field and travels once, in the params of a ``secret`` request,
straight to the secrets API (:func:`pt_widgets.governance.create_secret`); only the
``{{secrets/scope/key}}`` reference comes back and is kept (a trait may hold it: it is a
name, not a value). The deploy then runs in the background like the deploy panel's, and the
App opens the ready endpoint in the playground and the governance section.
"""

from __future__ import annotations

import re
import threading
from typing import Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ._base import Facade, Part, PtWidget, Request, WaitsForPart, declare

SECRET_SCOPE = "pt-widgets"
PROVIDERS = ("openai", "custom")
TASKS = ("llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


class ExternalPart(Part):
    scope = "external"
    TRAITS: ClassVar = {
        "provider": lambda: t.Unicode("openai"),
        "base_url": lambda: t.Unicode(""),
        "model": lambda: t.Unicode(""),  # the upstream's model name
        "task": lambda: t.Unicode("llm/v1/chat"),
        "endpoint_name": lambda: t.Unicode(""),
        "secret_reference": lambda: t.Unicode(""),  # {{secrets/scope/key}}: a name, no value
        "status": lambda: t.Unicode("idle"),  # idle deploying ready failed
        "message": lambda: t.Unicode(""),
        "endpoint": lambda: t.Unicode(""),  # the endpoint of the last successful deploy
        "endpoint_task": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self._done = threading.Event()
        self._done.set()
        self._failure: BaseException | None = None

    def checked_name(self) -> str:
        name = self.get("endpoint_name").strip()
        if not NAME.match(name):
            raise ValidationError("Endpoint name must be 1-63 letters, digits, '-' or '_'.")
        return name

    def store_secret(self, value: str) -> str:
        """Put the key in the secrets API under the endpoint's name; keep only the reference."""
        from ..governance import create_secret

        if not value:
            raise ValidationError("Type the server's API key first (or deploy without one).")
        reference = create_secret(self.workspace(), SECRET_SCOPE, f"{self.checked_name()}-key",
                                  value)
        self.set(secret_reference=reference, error="")
        return reference

    def check(self) -> tuple[str, str, str]:
        provider, task = self.get("provider"), self.get("task")
        if provider not in PROVIDERS:
            raise ValidationError(f"Provider must be 'openai' or 'custom', got {provider!r}.")
        if task not in TASKS:
            raise ValidationError(f"Task must be one of {', '.join(TASKS)}, got {task!r}.")
        base = self.get("base_url").strip()
        if not re.match(r"^https?://[^\s/]+", base):
            raise ValidationError("Base URL must start with http:// or https:// and name a host.")
        model = self.get("model").strip()
        if not model:
            raise ValidationError("Name the upstream's model (as its server knows it).")
        return self.checked_name(), base, model

    def start(self) -> None:
        """Check the form, then deploy on the pool (``status`` says how it goes)."""
        if not self._done.is_set():
            raise ValidationError("An external model is being deployed already.")
        name, base, model = self.check()
        self._done.clear()
        self._failure = None
        self.set(status="deploying", message=f"Creating '{name}'…", error="")
        self.host._pool.submit(self._deploy, name, base, model)

    def _deploy(self, name: str, base: str, model: str) -> None:
        from ..governance import deploy_external
        from ._base import describe_error

        try:
            deploy_external(self.workspace(), name, model, base,
                            api_key_reference=self.get("secret_reference") or None,
                            task=self.get("task"), provider=self.get("provider"))
        except Exception as exc:  # noqa: BLE001 - shown in the widget and raised by wait()
            self._failure = exc
            self.set(status="failed", message="", error=describe_error(exc))
        else:
            # endpoint first: the App acts on the status change and reads it
            self.set(endpoint=name, endpoint_task=self.get("task"), message=f"'{name}' is ready.",
                     status="ready")
        finally:
            self._done.set()

    def wait(self, timeout: float = 600.0) -> None:
        if not self._done.wait(timeout):
            raise TimeoutError(f"The external model is still deploying after {timeout} s.")
        if self._failure is not None:
            raise self._failure

    def rpc_secret(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"reference": self.store_secret(str(params.get("value") or ""))}

    def rpc_deploy(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.start()
        return {"started": True}


class ExternalAPI(WaitsForPart):
    """Python methods of the external model form."""

    part: ExternalPart

    def deploy(self, endpoint_name: str, base_url: str, model: str, *, provider: str = "openai",
               task: str = "llm/v1/chat", secret_reference: str = "") -> Any:
        """Deploy in the background (``.wait()`` blocks); the key is a ``{{secrets/...}}``
        reference from ``pt_widgets.governance.create_secret``, never a value."""
        self.part.set(endpoint_name=endpoint_name, base_url=base_url, model=model,
                      provider=provider, task=task, secret_reference=secret_reference)
        self.part.start()
        return self


class ExternalControls(ExternalAPI, Facade):
    """``App().external``: the "External model" form next to the picker."""


class ExternalModelForm(ExternalAPI, PtWidget):
    """Serve an OpenAI-compatible server (vLLM, llama.cpp, another workspace) as an endpoint."""

    PARTS: ClassVar = {"external": ("", ExternalPart)}
    _kind = t.Unicode("external").tag(sync=True)
    vars().update(declare(PARTS))
