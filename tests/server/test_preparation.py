"""First contact: the server prepares the shipped models at start, in the background.

Each test server here turns the preparation on (the suite's other servers run without it,
see ``tests/support.py``). The events waited on are the lines ``serve`` prints (the same
kind of line as its ready line, which scripts already wait on): one per prepared model and
one when the preparation finished. The hold file (``PT_WIDGETS_LOAD_HOLD_FILE``) keeps the
preparation from starting its first load, so "a request arrives while the preparation
runs" is a state the test sets, on a machine of any speed.
"""

from __future__ import annotations

import concurrent.futures
import json
import signal

import requests

from ..support import ServerProcess, optimization_info, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
EMBED = "system.ai.all_minilm_l6_v2"
CHAT_MU = "system.ai.smollm2_135m_instruct_mu"
PREPARED = "pt-widgets local workspace prepared"
FINISHED = "pt-widgets local workspace preparation finished"
ON = {"PT_WIDGETS_PREPARE_AT_START": "1"}


def line_with(server, text: str, timeout: float = 300) -> str:
    """The first line of the server's output containing ``text`` (waits for it)."""
    def found():
        return next((line for line in list(server.output) if text in line), None)

    return wait_until(found, timeout, what=f"the server to print {text!r}")


def prepared_lines(server) -> dict[str, str]:
    """Model -> its "prepared" line, once the preparation finished."""
    line_with(server, FINISHED)
    lines = [line for line in server.output if line.startswith(PREPARED)]
    return {line.split()[4]: line for line in lines}


def chunk_in(line: str) -> int:
    """The chunk a "prepared" line reports (``throughput_chunk_size 50 (…)``)."""
    words = line.split(": ", 1)[1].split()
    return int(words[1])


def test_a_request_during_preparation_waits_for_the_measured_chunk(tmp_path):
    server = ServerProcess(tmp_path / "ws", env=dict(ON))
    server.load_hold_file.touch()  # the preparation's first load waits for this file
    try:
        server.start()
        line_with(server, f"preparing {CHAT} version 1: Load held")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(optimization_info, server, CHAT)
            # the server answers everything else meanwhile
            listed = requests.get(f"{server.host}/api/2.0/serving-endpoints",
                                  headers=server.headers, timeout=30)
            assert listed.status_code == 200, listed.text
            models = requests.get(f"{server.host}/api/2.1/unity-catalog/models",
                                  params={"catalog_name": "system", "schema_name": "ai"},
                                  headers=server.headers, timeout=30)
            assert models.status_code == 200, models.text
            missing = requests.get(f"{server.host}/api/2.0/serving-endpoints/"
                                   "get-model-optimization-info/system.ai.nothing/1",
                                   headers=server.headers, timeout=30)
            assert missing.status_code == 404, missing.text
            # nothing is measured yet, so no answer for the chat model can exist
            assert not (server.data_dir / "calibration.json").exists()
            assert not first.done()
            server.load_hold_file.unlink()
            answered = first.result(timeout=300)
        lines = prepared_lines(server)
        assert answered["throughput_chunk_size"] == chunk_in(lines[CHAT])
        assert "measured in" in lines[CHAT], lines[CHAT]
        assert optimization_info(server, CHAT) == answered  # the same chunk, later
    finally:
        server.load_hold_file.unlink(missing_ok=True)
        server.stop()


def test_prepared_at_start_and_not_measured_again_after_a_restart(start_workspace):
    server = start_workspace(**ON)
    lines = prepared_lines(server)
    assert set(lines) == {CHAT, EMBED, CHAT_MU}, server.output[-10:]
    for model in (CHAT, EMBED):
        assert "measured in" in lines[model], lines[model]
    chunks = {model: optimization_info(server, model) for model in (CHAT, EMBED, CHAT_MU)}
    assert chunks[CHAT]["throughput_chunk_size"] == chunk_in(lines[CHAT])
    assert chunks[EMBED]["throughput_chunk_size"] == chunk_in(lines[EMBED])
    assert chunks[CHAT_MU]["model_unit_chunk_size"] == chunk_in(lines[CHAT_MU])

    cache_file = server.data_dir / "calibration.json"
    cached, stamp = cache_file.read_bytes(), cache_file.stat().st_mtime_ns
    assert len(json.loads(cached)) == 2  # one figure per weights file: chat + embeddings
    server.restart()
    lines = prepared_lines(server)
    for model in (CHAT, EMBED, CHAT_MU):
        assert "from the calibration cache" in lines[model], lines[model]
    assert line_with(server, FINISHED).endswith("0 measured, 3 from the calibration cache, "
                                                "0 failed")
    assert (cache_file.read_bytes(), cache_file.stat().st_mtime_ns) == (cached, stamp)
    assert {model: optimization_info(server, model) for model in chunks} == chunks


def test_stopping_during_the_preparation_exits_cleanly(tmp_path):
    server = ServerProcess(tmp_path / "ws", env=dict(ON))
    server.load_hold_file.touch()  # the preparation is held before its first load
    try:
        server.start()
        line_with(server, f"preparing {CHAT} version 1: Load held")
        # uvicorn re-raises the SIGTERM it handled once it has shut down: -15 is a clean
        # exit, -9 would be ServerProcess killing a server that did not stop in time
        assert server.stop() in (0, -signal.SIGTERM)
    finally:
        server.load_hold_file.unlink(missing_ok=True)
        server.stop()
    assert not (server.data_dir / "calibration.json").exists()  # nothing half-measured
    assert any(line.startswith(FINISHED) for line in server.output), server.output[-5:]
