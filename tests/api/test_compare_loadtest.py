"""compare_endpoints() and load_test() against the REAL local workspace (real inference,
real rate limiter).

The load test runs on an endpoint provisioned for exactly one chunk, so the sweep must show
delivered tokens/s capped near that rate with 429s above it. Pure parts (plan caps, the
recommendation, timeline bins, metrics parsing) are checked without a server.
"""

from __future__ import annotations

import threading

import pytest

import pt_widgets
from pt_widgets.compare import (
    COLUMNS,
    compare_endpoints,
    compare_summary,
    compare_wide,
    make_targets,
)
from pt_widgets.errors import NotFound, ValidationError
from pt_widgets.loadtest import (
    LEVEL_COLUMNS,
    EndpointCapacity,
    LoadTest,
    Sample,
    load_test,
    parse_rate,
    percentile,
    plan_load_test,
    recommend,
    timeline_bins,
)

from .conftest import CHAT_MODEL

ONE_CHUNK = "loadtest-one-chunk"


def deploy_one_chunk(ws, name: str = ONE_CHUNK) -> float:
    """A chat endpoint provisioned for exactly one chunk (idempotent); returns the chunk."""
    chunk = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    ws.deploy(name, CHAT_MODEL, 1, {"max_throughput": chunk, "min_throughput": chunk},
              timeout=600)
    return float(chunk)


@pytest.fixture(scope="module")
def one_chunk(ws) -> float:
    return deploy_one_chunk(ws)


# --------------------------------------------------------------------------- compare


def test_compare_one_model_at_two_temperatures_and_an_embeddings_endpoint(
        ws, chat_endpoint, embed_endpoint):
    events: list[dict] = []
    lock = threading.Lock()

    def on_event(event: dict) -> None:
        with lock:
            events.append(event)

    frame = compare_endpoints(ws, [{"endpoint": chat_endpoint, "temperature": 0.0},
                                   {"endpoint": chat_endpoint, "temperature": 1.0},
                                   embed_endpoint],
                              ["What is the capital of France?", "Name a colour."], max_tokens=12,
                              on_event=on_event)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 6
    labels = frame.attrs["targets"]
    assert labels == [f"{chat_endpoint} (temperature=0)", f"{chat_endpoint} (temperature=1)",
                      embed_endpoint]
    chat_rows = frame[frame["kind"] == "chat"]
    assert chat_rows["error"].isna().all(), chat_rows["error"].tolist()
    assert (chat_rows["answer"].str.len() > 0).all()
    assert (chat_rows["completion_tokens"] <= 12).all()
    assert (chat_rows["mean_logprob"] < 0).all()
    assert (chat_rows["ttft_s"] > 0).all() and (chat_rows["ttft_s"] <= chat_rows["latency_s"]).all()
    assert set(chat_rows["temperature"]) == {0.0, 1.0}
    emb = frame[frame["kind"] == "embeddings"]
    assert emb["answer"].str.startswith("384-dim vector").all()
    assert emb["mean_logprob"].isna().all()
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds.count("cell") == 6 and "delta" in kinds
    streamed = "".join(e["text"] for e in events
                       if e["type"] == "delta" and e["row"] == 0 and e["target"] == 0)
    assert streamed == frame.loc[0, "answer"]
    wide = compare_wide(frame)
    assert wide.shape == (2, 12)
    assert list(wide["answer"].columns) == labels
    summary = compare_summary(frame)
    assert summary["target"].tolist() == labels
    assert summary["answers"].tolist() == [2, 2, 2]
    assert summary.loc[0, "mean_logprob"] < 0


def test_compare_keeps_a_failing_cell_as_a_value_and_validates_targets(ws, chat_endpoint):
    frame = compare_endpoints(ws, [chat_endpoint, {"endpoint": "no-such-endpoint",
                                                   "kind": "chat"}],
                              "Hi", max_tokens=4, stream=False)
    assert frame["error"].isna().tolist() == [True, False] and frame.loc[0, "answer"]
    assert "no-such-endpoint" in frame.loc[1, "error"]
    with pytest.raises(NotFound):
        compare_endpoints(ws, ["no-such-endpoint"], "Hi")  # the task lookup names it
    with pytest.raises(ValidationError, match="at most 4"):
        make_targets(["a", "b", "c", "d", "e"])
    with pytest.raises(ValidationError, match="cannot set"):
        make_targets([{"endpoint": "a", "logprobs": True}])
    with pytest.raises(ValidationError, match="at least one prompt"):
        compare_endpoints(ws, [chat_endpoint], ["  "])
    assert [t.label for t in make_targets(["a", "a", {"endpoint": "a", "label": "x"}])] == [
        "a", "a #2", "x"]


def test_compare_takes_a_dataframe_column(ws, chat_endpoint):
    import pandas as pd

    df = pd.DataFrame({"id": [1, 2], "question": ["Say yes.", "Say no."]})
    frame = compare_endpoints(ws, [chat_endpoint], df, column="question", max_tokens=3,
                              logprobs=False)
    assert frame["prompt"].tolist() == ["Say yes.", "Say no."]
    assert frame["mean_logprob"].isna().all()


# --------------------------------------------------------------------------- load test


def heavy_prompt(chunk: int) -> str:
    """A prompt worth a third of a second of one chunk (prompt tokens are charged whole):
    eight at once reserve over twice the bucket, so the 8-concurrent level meets 429s by
    construction on a machine of any speed, not because this machine's engine is slow."""
    return "Summarise:" + " data" * min(1800, max(20, int(chunk) // 3))


def test_load_test_caps_delivered_tokens_near_the_provisioned_rate(ws, one_chunk):
    result = load_test(ws, ONE_CHUNK, [1, 8], seconds_per_level=5, max_tokens=16,
                       prompt=heavy_prompt(one_chunk))
    frame = result.frame
    print("\n" + frame.to_string() + "\n" + result.recommendation.text)
    assert list(frame.columns) == LEVEL_COLUMNS
    assert frame["concurrency"].tolist() == [1, 8]
    assert result.capacity.max_tokens_per_s == one_chunk
    assert (frame["ok"] > 0).all() and (frame["errors"] == 0).all()
    top = frame.iloc[-1]
    # the token bucket holds: delivered stays at or under the provisioned rate (one second
    # of burst over the level is the most it can add) and the excess is refused with 429
    for _, level in frame.iterrows():
        assert level["delivered_tokens_per_s"] <= one_chunk * (1 + 1.0 / level["seconds"]) + 1
    assert top["rate_limited"] > 0 and top["share_429"] > 0
    # near it: the plateau is within sight of the rate (the CPU here serves about one chunk)
    assert top["delivered_tokens_per_s"] >= 0.3 * one_chunk
    assert top["provisioned_tokens_per_s"] == pytest.approx(one_chunk)
    assert top["latency_p50_s"] <= top["latency_p95_s"]
    assert top["ttft_p50_s"] is not None and top["ttft_p50_s"] <= top["latency_p50_s"]
    assert top["demand_tokens_per_s"] > top["delivered_tokens_per_s"]
    rec = result.recommendation
    assert rec.chunks is not None and rec.chunks >= 2
    assert rec.text.startswith(f"Your load needs {rec.chunks} chunks")
    assert "raise max_provisioned_throughput" in rec.text
    samples = result.samples
    assert set(samples["status"]) <= {"ok", "429"}
    assert len(samples) == frame["requests"].sum()
    timeline = result.timeline
    # every 429 of the run is in the timeline (a fast engine's single stream can already ask
    # for more than one chunk, so the first level may have some too)
    assert len(timeline) >= 10 and timeline["rate_limited"].sum() == frame["rate_limited"].sum()
    assert timeline["provisioned_tokens_per_s"].dropna().eq(one_chunk).all()
    payload = result.payload()
    assert payload["recommendation"] == rec.text and len(payload["levels"]) == 2


def test_load_test_stops_when_asked_and_keeps_what_finished(ws, one_chunk):
    seen, stopped = threading.Event(), threading.Event()

    def on_event(event: dict) -> None:
        # the runner waits here, at its first progress with an answer, until the test has
        # called stop(): the first level is still on and the second never starts, however
        # fast the machine answers
        if event["type"] == "progress" and event["ok"] >= 1 and not seen.is_set():
            seen.set()
            assert stopped.wait(60)

    test = LoadTest(ws, ONE_CHUNK, [2, 4], seconds_per_level=60, max_tokens=8,
                    on_event=on_event)
    assert "at most 400 requests" in test.plan.describe()
    test.start()
    try:
        assert seen.wait(60), "no answer arrived"
        test.stop()
    finally:
        stopped.set()
    result = test.wait(timeout=60)
    assert result.stopped
    assert len(result.levels) == 1 and result.levels[0]["ok"] >= 1
    assert result.levels[0]["seconds"] < 60
    assert not test.running


def test_load_test_on_a_missing_endpoint_fails_in_one_sentence(ws):
    with pytest.raises(NotFound, match="no-such-endpoint"):
        load_test(ws, "no-such-endpoint", [1], seconds_per_level=1)


# --------------------------------------------------------------------------- pure parts


def test_plan_states_the_caps_and_refuses_unbounded_tests():
    plan = plan_load_test("ep", [8, 1, 4, 4], seconds_per_level=10, max_requests_per_level=50)
    assert plan.concurrency == (1, 4, 8)
    assert plan.max_requests == 150 and plan.seconds == 30 and plan.max_seconds == 60
    assert plan.describe().startswith("3 levels (1, 4, 8 concurrent) × up to 10 s or 50 requests")
    assert "at most 150 requests and about 30 s (hard stop at 60 s)" in plan.describe()
    for kwargs, message in [
        ({"concurrency": list(range(1, 10))}, "at most 8"),
        ({"concurrency": [0, 2]}, "from 1 to 64"),
        ({"concurrency": [65]}, "from 1 to 64"),
        ({"concurrency": []}, "at least one"),
        ({"seconds_per_level": 0}, "seconds_per_level"),
        ({"max_requests_per_level": 0}, "max_requests_per_level"),
        ({"concurrency": [1, 2, 3, 4, 5, 6, 7, 8], "seconds_per_level": 120}, "under 900 s"),
        ({"max_tokens": 0}, "max_tokens"),
    ]:
        with pytest.raises(ValidationError, match=message):
            plan_load_test("ep", **kwargs)
    with pytest.raises(ValidationError):
        plan_load_test("not a name!")


def _row(c: int, share: float, delivered: float, demand: float | None,
         rate: float | None = 90.0) -> dict:
    return {"concurrency": c, "requests": 10, "share_429": share,
            "delivered_tokens_per_s": delivered, "demand_tokens_per_s": demand,
            "provisioned_tokens_per_s": rate}


def test_recommendation_counts_chunks_from_the_measured_demand():
    band = EndpointCapacity("ep", "llm/v1/chat", "tokens_per_second", 90.0, 90.0, 180.0)
    fits = recommend([_row(1, 0.0, 40, 40), _row(2, 0.0, 75, 76)], band)
    assert fits.chunks == 1 and fits.concurrency == 2
    assert fits.text == ("Your load needs 1 chunk (90 tokens/s): 2 concurrent requests ask "
                         "≈76 tokens/s, no 429s; the endpoint's 90–180 tokens/s (chunks of 90) "
                         "cover it.")
    over = recommend([_row(1, 0.0, 40, 40), _row(8, 0.6, 85, 300)], band)
    assert over.chunks == 4 and over.tokens_per_s == 360
    assert "raise max_provisioned_throughput from 180 to 360" in over.text
    # refused below max while still at min: scale-up lag, so raise the minimum
    lag = recommend([_row(4, 0.2, 85, 100)], band)
    assert lag.chunks == 2 and "raise min_provisioned_throughput to 180" in lag.text
    # 429s mean more than the rate it had, even when the estimate is lower
    assert recommend([_row(4, 0.5, 60, 70)], band).chunks == 2
    assert recommend([_row(1, 0.0, 40, 40), _row(8, 0.6, 85, 300)], band,
                     target_concurrency=1).chunks == 1
    units = EndpointCapacity("ep", "llm/v1/chat", "model_units", 50.0, model_units=50.0)
    mu = recommend([_row(8, 0.5, 100, 250, rate=100.0)], units)
    assert mu.text.startswith("Your load needs 150 model units") and mu.chunks == 3
    assert recommend([], band).chunks is None
    assert "not sized" in recommend([_row(1, 0.0, 10, 10)], EndpointCapacity("ep")).text
    assert "nothing was answered" in recommend([_row(8, 1.0, 0, None)], band).text


def test_timeline_spreads_tokens_over_each_request():
    samples = [Sample(0, 1, 0.0, 2.0, "ok", 10, 20, ttft_s=0.5),
               Sample(0, 1, 1.0, 1.0, "429", retry_after_s=1.0),
               Sample(0, 1, 2.0, 3.0, "error")]
    bins = timeline_bins(samples, 3.0, [(0.2, 90.0), (2.5, 180.0)])
    assert [b[0] for b in bins] == [0, 1, 2]
    assert bins[0][1] + bins[1][1] == pytest.approx(30.0)
    assert bins[0][1] == pytest.approx(10 + 20 * 0.5 / 1.5, abs=0.1)
    assert [b[2] for b in bins] == [90.0, None, 180.0]
    assert [b[3] for b in bins] == [0, 1, 0]
    assert timeline_bins(samples, 3.0, [], first=2) == [[2, 0.0, None, 0]]


def test_metrics_parsing_and_percentiles():
    text = ("# TYPE provisioned_throughput_tokens_per_second gauge\n"
            'provisioned_throughput_tokens_per_second{served_entity="a"} 90.0\n'
            'provisioned_throughput_tokens_per_second{served_entity="b"} 30.0\n'
            "provisioned_throughput_tokens_per_second_created 1\n")
    assert parse_rate(text) == 120.0
    assert parse_rate("request_count_total 3\n") is None
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)


def test_public_names():
    assert pt_widgets.load_test is load_test and pt_widgets.compare_endpoints is compare_endpoints
    assert pt_widgets.LoadTestPanel.__name__ == "LoadTestPanel"


def test_workspace_methods_are_the_module_functions(ws):
    assert ws.compare_endpoints.__func__ is pt_widgets.compare_endpoints
    assert ws.load_test.__func__ is pt_widgets.load_test
