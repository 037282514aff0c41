"""LoadTestPanel: a bounded concurrency sweep against one endpoint, charted live.

The form (endpoint, concurrency levels, seconds and requests per level, max tokens, prompt)
is synced traits; every change recomputes the plan's caps in Python, shown before Start
(``caps``, or ``plan_error`` saying what to fix). The test runs on a background thread
(``pt_widgets.loadtest.LoadTest``) and every view hears it as events of this panel's scope:
``start``, ``progress`` (twice a second: the last minute of per-second delivered tokens/s,
the provisioned rate, 429s), ``level`` (a finished level's row) and ``done`` (levels,
timeline and the recommendation). Stop works from the browser (``stop`` request) and from
Python (``panel.stop()``). ``panel.result`` is the :class:`LoadTestResult` (``.frame``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ._adapters import endpoint_items
from ._base import Facade, Part, PtWidget, Request, declare, describe_error, redact

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..loadtest import LoadTestPlan, LoadTestResult

PLAN_TRAITS = ("endpoint", "concurrency", "seconds_per_level", "max_requests_per_level",
               "max_tokens", "prompt")


class LoadTestPart(Part):
    scope = "loadtest"
    TRAITS: ClassVar = {
        "endpoint": lambda: t.Unicode(""),
        "concurrency": lambda: t.List(t.Int(), [1, 2, 4, 8]),
        "seconds_per_level": lambda: t.Float(15.0),
        "max_requests_per_level": lambda: t.Int(200),
        "max_tokens": lambda: t.Int(32),
        "prompt": lambda: t.Unicode(""),
        "caps": lambda: t.Unicode(""),  # the plan's caps, shown before Start
        "plan_error": lambda: t.Unicode(""),
        "capacity": lambda: t.Dict({}),  # the endpoint's provisioned band
        "status": lambda: t.Unicode("idle"),  # idle running stopping done stopped error
        "recommendation": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self.test: Any = None  # the running or last LoadTest
        self.result: LoadTestResult | None = None
        self._payload: dict[str, Any] | None = None
        self._settled = True  # the last test has ended (its "done" or "error" was handled)
        self._run_lock = threading.RLock()  # re-entrant: a status observer runs under it
        self.observe(self._on_plan, *PLAN_TRAITS)
        self.observe(self._on_endpoint, "endpoint")
        self._on_plan({})

    # -- the plan -------------------------------------------------------------------------
    def plan(self) -> LoadTestPlan:
        from ..loadtest import plan_load_test

        endpoint = self.get("endpoint")
        if not endpoint:
            raise ValidationError("Choose the endpoint to load-test first.")
        return plan_load_test(endpoint, list(self.get("concurrency")),
                              seconds_per_level=float(self.get("seconds_per_level")),
                              max_requests_per_level=int(self.get("max_requests_per_level")),
                              max_tokens=int(self.get("max_tokens")),
                              prompt=self.get("prompt") or None)

    def _on_plan(self, change: dict[str, Any]) -> None:
        try:
            caps = self.plan().describe()
        except ValidationError as exc:
            self.set(caps="", plan_error=str(exc))
        else:
            self.set(caps=caps, plan_error="")

    def _on_endpoint(self, change: dict[str, Any]) -> None:
        name = str(change["new"] or "")
        self.set(capacity={})
        if name:
            ticket = self.next_generation()
            self.submit(self._load_capacity, ticket, name)

    def _load_capacity(self, ticket: int, name: str) -> None:
        from ..loadtest import endpoint_capacity

        capacity = endpoint_capacity(self.workspace(), name)
        if self.current(ticket):
            self.set(capacity=capacity.to_dict())

    def rpc_endpoints(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"items": endpoint_items(self.workspace())}

    # -- running --------------------------------------------------------------------------
    def begin(self, **options: Any) -> Any:
        """Start the planned test on a background thread (one at a time)."""
        from ..loadtest import LoadTest

        with self._run_lock:
            if not self._settled:
                raise ValidationError("A load test is already running; stop it first.")
            plan = self.plan()
            test = LoadTest(self.workspace(), plan.endpoint, plan.concurrency,
                            seconds_per_level=plan.seconds_per_level,
                            max_requests_per_level=plan.max_requests_per_level,
                            max_tokens=plan.max_tokens, prompt=plan.prompt,
                            on_event=self._on_event, **options)
            self.test = test
            self.result = None
            self._payload = None
            self._settled = False
            self.set(status="running", error="", recommendation="")
            test.start()
        return test

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind not in ("done", "error"):
            self.emit(event)
            return
        # the end, in one observable order under the run lock: the event, then the terminal
        # status (whoever sees the status has heard the event, and may start the next test;
        # a concurrent stop() cannot turn a finished test back into "stopping")
        with self._run_lock:
            if kind == "done":
                test = self.test
                self.result = test.result if test is not None else None
                self._payload = event["result"]
                stopped = bool(event["result"].get("stopped"))
                traits = {"status": "stopped" if stopped else "done",
                          "recommendation": event["result"].get("recommendation") or ""}
            else:
                text = (describe_error(self.test.error)
                        if self.test is not None and self.test.error
                        else redact(event.get("error")))
                traits = {"status": "error", "error": text}
                event = {**event, "error": text}
            self._settled = True
            self.emit(event)
            self.set(**traits)

    def stop(self) -> None:
        with self._run_lock:
            test = None if self._settled else self.test
            if test is not None:
                self.set(status="stopping")
        if test is not None:
            test.stop()

    def rpc_start(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        values = {k: params[k] for k in PLAN_TRAITS if k in params}
        if values:
            self.set(**values)
        test = self.begin()
        return {"started": True, "plan": test.plan.to_dict()}

    def rpc_stop(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.stop()
        return {"stopping": self.get("status") == "stopping"}

    def rpc_result(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"result": self._payload, "status": self.get("status")}

    def teardown(self) -> None:
        if self.test is not None:
            self.test.stop()


class LoadTestAPI:
    """Python methods of a load-test panel."""

    part: LoadTestPart

    @property
    def plan(self) -> LoadTestPlan:
        """The caps of the test the form describes (raises if the form is not valid)."""
        return self.part.plan()

    def start(self, **options: Any) -> Any:
        """Start the test in the background (the panel charts it); ``.stop()``, ``.wait()``.

        ``options`` go to :class:`pt_widgets.loadtest.LoadTest` (``temperature``,
        ``target_concurrency``, ``drain_s``...).
        """
        self.part.begin(**options)
        return self

    def run(self, **options: Any) -> LoadTestResult:
        """Run the test and return its result (blocks the cell; Stop from Python: Ctrl-C)."""
        test = self.part.begin(**options)
        try:
            test.wait()
        except KeyboardInterrupt:
            self.part.stop()
        return self.wait()

    def wait(self, timeout: float | None = None) -> LoadTestResult:
        if self.part.test is None:
            raise ValidationError("Start the load test first.")
        result = self.part.test.wait(timeout)
        # the panel's own bookkeeping (status, recommendation) follows the same event
        return result

    def stop(self) -> None:
        """Stop the running test; the result keeps the levels that finished."""
        self.part.stop()

    @property
    def result(self) -> LoadTestResult | None:
        return self.part.result

    @property
    def frame(self) -> pd.DataFrame | None:
        """One row per concurrency level of the last test."""
        return None if self.part.result is None else self.part.result.frame


class LoadTestControls(LoadTestAPI, Facade):
    """``App().loadtest``: the load-test panel inside the App."""


class LoadTestPanel(LoadTestAPI, PtWidget):
    """Load-test an endpoint: a bounded concurrency sweep, a live tokens/s chart, advice.

    ``LoadTestPanel(endpoint="my-endpoint", concurrency=[1, 4, 8], seconds_per_level=10)``;
    the caps show before Start. Python: ``panel.run()`` → :class:`LoadTestResult`
    (``.frame``, ``.recommendation``), or ``panel.start()`` / ``panel.stop()``.
    """

    PARTS: ClassVar = {"loadtest": ("", LoadTestPart)}
    _kind = t.Unicode("loadtest").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, endpoint: str = "", **kwargs: Any) -> None:
        form = {k: kwargs.pop(k) for k in PLAN_TRAITS if k in kwargs}
        super().__init__(**kwargs)
        if endpoint:
            form["endpoint"] = endpoint
        if "concurrency" in form:
            c = form["concurrency"]
            form["concurrency"] = [int(c)] if isinstance(c, int) else [int(x) for x in c]
        if form:
            self.part.set(**form)
