"""Per-endpoint Prometheus metrics (``GET /api/2.0/serving-endpoints/{name}/metrics``).

Names follow what Databricks exports (``request_count_total``, ``request_4xx_count_total``,
``request_5xx_count_total``, ``request_latency_ms``) plus the figures a provisioned-
throughput user needs: 429s apart, tokens in and out, the current provisioned rate.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000)


class EndpointMetrics:
    """Counters for one endpoint; ``record`` is called once per answered request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("request_count", "Requests answered, by status class",
                                ["served_entity", "status_class"], registry=r)
        self.requests_4xx = Counter("request_4xx_count", "Requests answered 4xx (429 included)",
                                    ["served_entity"], registry=r)
        self.requests_429 = Counter("request_429_count", "Requests refused with 429",
                                    ["served_entity"], registry=r)
        self.requests_5xx = Counter("request_5xx_count", "Requests answered 5xx",
                                    ["served_entity"], registry=r)
        self.tokens_in = Counter("input_tokens", "Prompt tokens processed", ["served_entity"],
                                 registry=r)
        self.tokens_out = Counter("output_tokens", "Tokens generated", ["served_entity"],
                                  registry=r)
        self.latency = Histogram("request_latency_ms", "Request latency in milliseconds",
                                 ["served_entity"], buckets=LATENCY_BUCKETS_MS, registry=r)
        self.provisioned = Gauge("provisioned_throughput_tokens_per_second",
                                 "Current provisioned rate (input + output tokens/s)",
                                 ["served_entity"], registry=r)
        self.in_flight = Gauge("requests_in_flight", "Admitted requests still running",
                               ["served_entity"], registry=r)

    def record(self, entity: str, status: int, latency_ms: float, tokens_in: int = 0,
               tokens_out: int = 0) -> None:
        self.requests.labels(entity, f"{status // 100}xx").inc()
        if 400 <= status < 500:
            self.requests_4xx.labels(entity).inc()
        if status == 429:
            self.requests_429.labels(entity).inc()
        if status >= 500:
            self.requests_5xx.labels(entity).inc()
        self.tokens_in.labels(entity).inc(tokens_in)
        self.tokens_out.labels(entity).inc(tokens_out)
        self.latency.labels(entity).observe(latency_ms)

    def set_rate(self, entity: str, rate: float | None, in_flight: int) -> None:
        """``rate`` None: the entity has no provisioned rate (an external model), so no
        gauge is exported for it (a number would be a made-up limit)."""
        if rate is not None:
            self.provisioned.labels(entity).set(rate)
        self.in_flight.labels(entity).set(in_flight)

    def render(self) -> bytes:
        return generate_latest(self.registry)
