"""The voice console in a real browser: Debian's headless Chromium driven by Playwright, a real
uvicorn server on loopback, the simulator behind it, and a WAV file as the microphone.

What the page sends and receives is read off the page's own WebSocket (Playwright's frame
events); what reached the model is read where the simulator received it. The screenshot in
docs/images/console.png is taken here.

Needs ``chromium`` (``apt-get install chromium``; .ci/run installs it). Playwright's own browser
download is never used: ``executable_path`` points at the system browser.
"""

from __future__ import annotations

import array
import base64
import itertools
import json
import math
import os
import re
import shutil
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocket, sync_playwright

from realtime_graph.transports.simulator import SimulatorTransport
from tests.support.serving import EXAMPLE, BaseURL, serving_in_thread
from tests.support.simulated import LIVE, RecordingSimulator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium); "
                                                ".ci/run installs it for CI"),
    # Real-time audio in a headless browser on a loaded 2-core runner: one of about four full runs
    # timed out waiting for playback; a rerun tells a flake from a regression (see CHANGELOG).
    pytest.mark.flaky(reruns=2),
]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "console.png"
INPUT_RATE = 24000  # the session's rates (agents.d: pcm16 both ways)
BYTES_PER_MS = INPUT_RATE * 2 // 1000
TONE_HZ = 1000.0
TONE_S, PAUSE_S = 0.8, 1.2  # the microphone file: a tone, then quiet (Chromium loops the file)
MIC_FRAME_BYTES = 40 * BYTES_PER_MS  # the console sends 40 ms frames
TIMEOUT = 15.0


# -- the browser, the server, the page ----------------------------------------------------------

def write_microphone(path: Path) -> Path:
    """A 48 kHz WAV: TONE_S of a TONE_HZ tone at -10 dBFS, then PAUSE_S of silence."""
    rate = 48000
    samples = array.array("h", (int(0.3 * 32767 * math.sin(2 * math.pi * TONE_HZ * i / rate))
                                for i in range(int(rate * TONE_S))))
    samples.extend([0] * int(rate * PAUSE_S))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    wav = write_microphone(tmp_path_factory.mktemp("mic") / "microphone.wav")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Frame:
    at: float
    direction: str  # "sent" (browser → server) | "received"
    data: str | bytes

    @property
    def message(self) -> dict[str, Any] | None:
        return json.loads(self.data) if isinstance(self.data, str) else None


@dataclass
class Console:
    """One page on one server; ``frames`` is everything on the page's session socket."""

    page: Page
    url: BaseURL
    sim: RecordingSimulator
    frames: list[Frame] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, ws: WebSocket) -> None:
        if "/browser/session" not in ws.url:
            return
        ws.on("framesent", lambda data: self.frames.append(Frame(time.monotonic(), "sent", data)))
        ws.on("framereceived", lambda data: self.frames.append(Frame(time.monotonic(), "received", data)))

    def messages(self, direction: str, kind: str | None = None) -> list[dict[str, Any]]:
        out = [f.message for f in self.frames if f.direction == direction and f.message is not None]
        return [m for m in out if kind is None or m["type"] == kind]

    def binary_sent(self) -> list[bytes]:
        return [f.data for f in self.frames if f.direction == "sent" and isinstance(f.data, bytes)]

    def played(self, item_id: str) -> list[int]:
        """Bytes of each ``played`` report for ``item_id``, in the order the page sent them."""
        return [m["bytes"] for m in self.messages("sent", "played") if m["item_id"] == item_id]

    def wait(self, check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
        """Poll ``check`` (letting Playwright deliver events meanwhile) until it is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                recent = [f"{f.direction} {f.data[:160] if isinstance(f.data, str) else f'<{len(f.data)} bytes>'}"
                          for f in self.frames[-15:]]
                pytest.fail(f"timed out after {timeout} s waiting for {what}; page errors {self.errors}; "
                            f"last frames:\n" + "\n".join(recent))
            self.page.wait_for_timeout(25)

    def type_turn(self, text: str) -> None:
        self.page.fill("[data-testid=text-input]", text)
        self.page.press("[data-testid=text-input]", "Enter")

    def texts(self, selector: str) -> list[str]:
        return [el.inner_text() for el in self.page.query_selector_all(selector)]

    def bubble_texts(self, role: str) -> list[str]:
        return self.texts(f"[data-testid=message-{role}] .bubble-text")


@pytest.fixture
def console(browser: Browser) -> Iterator[Console]:
    with open_console(browser) as opened:
        yield opened


@contextmanager
def open_console(browser: Browser, graph: Path = EXAMPLE, *, address: str = "", wait_connected: bool = True,
                 on_page: Callable[[Page], None] | None = None, **options: Any) -> Iterator[Console]:
    """A fresh server (recording simulator behind it) and a fresh page on ``url + address``."""
    sim = RecordingSimulator()
    try:
        with serving_in_thread(graph, transport=SimulatorTransport(sim), **options) as url:
            context = browser.new_context(viewport={"width": 1280, "height": 820})
            page = context.new_page()
            console = Console(page, url, sim)
            page.on("websocket", console.watch)
            page.on("pageerror", lambda error: console.errors.append(str(error)))
            if on_page is not None:
                on_page(page)
            try:
                page.goto(url + address)
                if wait_connected:
                    page.wait_for_selector("[data-testid=connection-state][data-state=connected]",
                                           timeout=TIMEOUT * 1000)
                yield console
                assert console.errors == []
            finally:
                context.close()
    finally:
        LIVE.remove(sim)


def appended_audio(sim: RecordingSimulator) -> bytes:
    return b"".join(base64.b64decode(e["audio"]) for e in sim.received_of("input_audio_buffer.append"))


def tone_frequency(pcm: bytes, rate: int) -> float:
    samples = array.array("h")
    samples.frombytes(pcm)
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return crossings / 2 / (len(samples) / rate)


def rms(pcm: bytes) -> float:
    samples = array.array("h")
    samples.frombytes(pcm)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


# -- the pure parts of the page, run in the page --------------------------------------------------

def test_resampler_and_graph_layout_in_the_browser(console: Console) -> None:
    result = console.page.evaluate("""async () => {
        const { LinearResampler } = await import("./js/resample.js");
        const { layoutGraph } = await import("./js/graph-view.js");
        const input = Float32Array.from({ length: 4410 }, (_, i) => Math.sin(2 * Math.PI * 441 * i / 44100));
        const whole = new LinearResampler(44100, 24000).process(input);
        const chunked = new LinearResampler(44100, 24000);
        const parts = [];
        for (let i = 0; i < input.length; i += 128) parts.push(...chunked.process(input.subarray(i, i + 128)));
        const maxDiff = Math.max(...whole.map((v, i) => Math.abs(v - parts[i])));
        const up = new LinearResampler(24000, 48000).process(Float32Array.from([0, 1, 0, -1, 0]));
        const layout = layoutGraph({ start: "a", agents: [
            { name: "a", tools: [], handoffs: ["b", "c"], guardrails: [] },
            { name: "b", tools: ["t"], handoffs: ["a"], guardrails: [] },
            { name: "c", tools: [], handoffs: [], guardrails: [] },
            { name: "lonely", tools: [], handoffs: [], guardrails: [] }] });
        return { wholeLength: whole.length, chunkedLength: parts.length, maxDiff, up: Array.from(up),
                 depths: Object.fromEntries(layout.nodes.map((n) => [n.name, n.depth])),
                 edges: layout.edges };
    }""")
    # 100 ms in, 100 ms out (minus the last interpolation point), the same whether chunked or not
    assert (result["wholeLength"], result["chunkedLength"]) == (2400, 2400)
    assert result["maxDiff"] < 1e-6
    assert result["up"] == [0, 0.5, 1, 0.5, 0, -0.5, -1, -0.5]
    assert result["depths"] == {"a": 0, "b": 1, "c": 1, "lonely": 2}
    assert result["edges"] == [{"from": "a", "to": "b", "both": True}, {"from": "a", "to": "c", "both": False}]


# -- the console against the server -------------------------------------------------------------

def test_a_typed_turn_shows_the_assistants_reply(console: Console) -> None:
    page = console.page
    assert page.inner_text("[data-testid=active-agent]") == "concierge"
    assert page.get_attribute("[data-testid=graph-node][data-agent=concierge]", "aria-current") == "true"
    console.type_turn("What's the weather in Paris?")

    reply = "get_weather returned The weather in Paris is sunny, 21 °C."
    console.wait(lambda: reply in console.bubble_texts("assistant"), "the assistant's final reply")
    assert console.bubble_texts("user") == ["What's the weather in Paris?"]
    assert console.bubble_texts("assistant") == [
        "Hi, this is weather. You work for Acme Travel and tell callers the current weather.", reply]
    assert console.texts("[data-testid=divider-handoff]") == ["Handoff: concierge → weather"]
    card = page.locator("[data-testid=tool-call][data-tool=get_weather]")
    assert card.get_attribute("data-state") == "done"
    assert json.loads(card.locator("[data-testid=tool-arguments]").inner_text()) == {"city": "Paris"}
    assert card.locator("[data-testid=tool-output]").inner_text() == "The weather in Paris is sunny, 21 °C."
    assert page.inner_text("[data-testid=active-agent]") == "weather"
    assert page.get_attribute("[data-testid=graph-node][data-agent=weather]", "aria-current") == "true"
    assert page.get_attribute("[data-testid=graph-node][data-agent=concierge]", "aria-current") is None

    # on the wire: exactly one text turn and no microphone audio (the microphone is off)
    assert console.messages("sent", "text") == [{"type": "text", "text": "What's the weather in Paris?"}]
    assert console.binary_sent() == []
    (created,) = [e for e in console.sim.received_of("conversation.item.create") if e["item"].get("role") == "user"]
    assert created["item"]["content"] == [{"type": "input_text", "text": "What's the weather in Paris?"}]
    # every assistant audio chunk the page was sent is reported played (the page played it all)
    items = {m["item_id"] for m in console.messages("received", "audio")}
    console.wait(lambda: all(sum(console.played(i)) >= audio_bytes(console, i) for i in items),
                 "every assistant item to be reported fully played", timeout=30)


def audio_bytes(console: Console, item_id: str) -> int:
    """Bytes of assistant audio the page received for ``item_id`` (binary frames after its ``audio``)."""
    total, current = 0, None
    for frame in console.frames:
        if frame.direction != "received":
            continue
        if isinstance(frame.data, bytes):
            total += len(frame.data) if current == item_id else 0
        elif (message := frame.message) and message["type"] == "audio":
            current = message["item_id"]
    return total


def test_a_spoken_turn_reaches_the_session(console: Console) -> None:
    page = console.page
    page.click("[data-testid=mic]")
    page.wait_for_selector("[data-testid=mic][aria-pressed=true]", timeout=TIMEOUT * 1000)
    spoken = re.compile(r"\(\d+\.\d s of audio\)")
    heard = console.wait(lambda: [t for t in console.bubble_texts("user") if spoken.fullmatch(t)],
                         "the user's spoken turn in the transcript")
    console.wait(lambda: f"You said: {heard[0]}" in console.bubble_texts("assistant"), "the reply to the spoken turn")
    page.click("[data-testid=mic]")
    page.wait_for_selector("[data-testid=mic][aria-pressed=false]", timeout=TIMEOUT * 1000)

    # binary PCM16 frames of 40 ms at the session's input rate, which the model received as a
    # 1 kHz tone: the console resampled from the AudioContext's rate correctly
    frames = console.binary_sent()
    assert frames and {len(f) for f in frames} == {MIC_FRAME_BYTES}
    audio = appended_audio(console.sim)
    assert len(audio) == sum(map(len, frames))
    loud = [audio[i:i + 100 * BYTES_PER_MS] for i in range(0, len(audio), 100 * BYTES_PER_MS)]
    loud = [chunk for chunk in loud if rms(chunk) > 1000][:5]
    assert len(loud) >= 3
    for chunk in loud[1:]:
        assert tone_frequency(chunk, INPUT_RATE) == pytest.approx(TONE_HZ, rel=0.03)
    assert console.sim.received_of("input_audio_buffer.commit") == []  # server VAD committed, not the page
    # the microphone is off: no more frames
    sent = len(console.binary_sent())
    page.wait_for_timeout(300)
    assert len(console.binary_sent()) == sent


def test_an_approval_click_runs_the_tool(console: Console) -> None:
    page = console.page
    console.type_turn("Booking please: book a table restaurant=Septime time=19:30")
    card = page.locator("[data-testid=tool-call][data-tool=book_table]")
    card.wait_for(timeout=TIMEOUT * 1000)
    console.wait(lambda: card.get_attribute("data-state") == "awaiting approval", "the approval request")
    assert json.loads(card.locator("[data-testid=tool-arguments]").inner_text()) == {
        "restaurant": "Septime", "time": "19:30"}
    (asked,) = console.messages("received", "approval_required")
    call_id = asked["call_id"]
    assert call_id not in outputs(console.sim)  # parked: not run before the click

    card.locator("[data-testid=approve-once]").click()
    console.wait(lambda: card.get_attribute("data-state") == "done", "the tool to finish")
    assert console.messages("sent", "approve") == [{"type": "approve", "call_id": call_id, "always": False}]
    result = {"confirmed": True, "restaurant": "Septime", "time": "19:30", "party_size": 2}
    assert json.loads(card.locator("[data-testid=tool-output]").inner_text()) == result
    assert json.loads(outputs(console.sim)[call_id]) == result
    assert card.locator("[data-testid=approval-decision]").inner_text() == "Approved once"
    assert card.locator("[data-testid=approve-once]").count() == 0


def test_a_rejection_with_a_reason_reaches_the_model(console: Console) -> None:
    page = console.page
    console.type_turn("Booking please: book a table restaurant=Septime time=19:30")
    card = page.locator("[data-testid=tool-call][data-tool=book_table]")
    card.locator("[data-testid=reject]").wait_for(timeout=TIMEOUT * 1000)
    card.locator("[data-testid=reject-reason]").fill("The caller changed their mind.")
    card.locator("[data-testid=reject]").click()
    console.wait(lambda: console.messages("received", "tool_end"), "the rejected call to end")
    (asked,) = console.messages("received", "approval_required")
    assert console.messages("sent", "reject") == [{"type": "reject", "call_id": asked["call_id"], "always": False,
                                                  "message": "The caller changed their mind."}]
    assert outputs(console.sim)[asked["call_id"]] == "The caller changed their mind."
    assert card.get_attribute("data-state") == "rejected"
    assert card.locator("[data-testid=approval-decision]").inner_text() == "Rejected: The caller changed their mind."


def outputs(sim: RecordingSimulator) -> dict[str, Any]:
    """call_id → output of every function_call_output the simulator received."""
    return {e["item"]["call_id"]: e["item"]["output"] for e in sim.received_of("conversation.item.create")
            if e["item"]["type"] == "function_call_output"}


LONG_TURN = ("Tell me about the old town, street by street, every square and every fountain, "
             "and do not leave anything out")
"""The simulator answers "You said: <text>" at 60 ms per character: about 7 s of audio, all of
it sent at once (sim speed 0), so the page holds seconds of queued audio to flush."""


def start_long_reply(console: Console, played_ms: float) -> str:
    """Type LONG_TURN and wait until the page reported ``played_ms`` of the reply as played."""
    console.type_turn(LONG_TURN)
    (announced,) = console.wait(lambda: console.messages("received", "audio"), "assistant audio")
    item = str(announced["item_id"])
    console.wait(lambda: sum(console.played(item)) >= played_ms * BYTES_PER_MS, f"{played_ms} ms played")
    assert console.page.get_attribute("body", "data-playing") == "true"
    return item


def test_a_barge_in_flushes_playback_and_truncates_at_what_the_page_reported(console: Console) -> None:
    page = console.page
    item = start_long_reply(console, played_ms=1200)
    received_ms = audio_bytes(console, item) / BYTES_PER_MS
    assert received_ms > 5000  # seconds of audio are queued in the page

    page.click("[data-testid=mic]")  # the user speaks over the assistant
    console.wait(lambda: console.messages("received", "audio_interrupted"), "audio_interrupted")
    assert console.messages("received", "audio_interrupted")[0]["item_id"] == item
    (truncate,) = console.wait(lambda: console.sim.received_of("conversation.item.truncate"), "the truncate")
    console.wait(lambda: page.get_attribute("body", "data-playing") == "false", "playback to stop")
    page.click("[data-testid=mic]")

    reports = console.played(item)
    interrupted_at = next(f.at for f in console.frames if f.direction == "received"
                          and (m := f.message) is not None and m["type"] == "audio_interrupted")
    after = [m for f in console.frames if f.direction == "sent" and f.at > interrupted_at
             and (m := f.message) is not None and m["type"] == "played" and m["item_id"] == item]
    assert len(after) <= 1, f"only the flush report may follow audio_interrupted, got {after}"
    # the truncate is exactly the sum of the reports the server had when the barge-in arrived,
    # which is all of them but at most the one in flight and the flush report
    assert truncate["item_id"] == item and truncate["content_index"] == 0
    prefixes = [sum(reports[:n]) for n in range(len(reports) + 1)]
    matches = [n for n, total in enumerate(prefixes) if int(total / BYTES_PER_MS) == truncate["audio_end_ms"]]
    assert matches, f"truncate at {truncate['audio_end_ms']} ms is no sum of the page's reports {reports}"
    report_ms = max(reports[:-1]) / BYTES_PER_MS  # one periodic report (~50 ms)
    heard_ms = sum(reports) / BYTES_PER_MS
    assert 0 <= heard_ms - truncate["audio_end_ms"] <= report_ms + 30, (heard_ms, truncate, report_ms)
    # the rest of the queued reply was dropped, not played
    assert 1200 <= heard_ms < received_ms - 3000
    assert "interrupted" in page.inner_text("[data-testid=message-assistant].is-interrupted .message-meta")
    page.wait_for_timeout(300)
    assert console.played(item) == reports  # nothing of that item plays after the flush


def test_the_stop_button_truncates_exactly_at_what_was_played(console: Console) -> None:
    page = console.page
    item = start_long_reply(console, played_ms=600)
    page.click("[data-testid=stop]")
    (truncate,) = console.wait(lambda: console.sim.received_of("conversation.item.truncate"), "the truncate")
    console.wait(lambda: console.messages("received", "audio_interrupted"), "audio_interrupted")
    # the page flushed and reported before it sent the interrupt, so the server knew everything
    sent = [m for m in console.messages("sent") if m["type"] in ("played", "interrupt")]
    assert sent[-1] == {"type": "interrupt"}
    heard = sum(console.played(item))
    assert truncate["audio_end_ms"] == int(heard / BYTES_PER_MS)
    assert page.get_attribute("body", "data-playing") == "false"
    assert page.is_disabled("[data-testid=stop]")


# -- auth, notices, screenshot ------------------------------------------------------------------

def test_the_token_comes_from_the_fragment_and_leaves_the_address_bar(browser: Browser) -> None:
    requests: list[str] = []
    watch = lambda page: page.on("request", lambda request: requests.append(request.url))  # noqa: E731
    with open_console(browser, address="#token=s3cret-t0ken", token="s3cret-t0ken", on_page=watch) as console:
        assert console.page.evaluate("location.hash") == ""
        assert "s3cret" not in console.page.content()
        console.type_turn("hello")
        console.wait(lambda: "You said: hello" in console.bubble_texts("assistant"), "the reply")
    assert any(url.endswith("/js/main.js") for url in requests)
    assert not any("s3cret" in url for url in requests)


def test_without_the_token_the_page_says_so_and_asks_for_it(browser: Browser) -> None:
    with open_console(browser, wait_connected=False, token="s3cret-t0ken") as console:
        page = console.page
        page.wait_for_selector("[data-testid=token-form]", timeout=TIMEOUT * 1000)
        assert page.get_attribute("[data-testid=connection-state]", "data-state") == "closed"
        assert "refused the session" in page.inner_text("[data-testid=notice-refused]")
        assert page.is_disabled("[data-testid=text-input]")
        page.fill("[data-testid=token-input]", "s3cret-t0ken")
        page.press("[data-testid=token-input]", "Enter")
        page.wait_for_selector("[data-testid=connection-state][data-state=connected]", timeout=TIMEOUT * 1000)
        assert page.is_hidden("[data-testid=token-form]")


def test_an_unknown_agent_is_an_error_notice(browser: Browser) -> None:
    with open_console(browser, address="?agent=nobody", wait_connected=False) as console:
        page = console.page
        page.wait_for_selector("[data-testid=notice-error]", timeout=TIMEOUT * 1000)
        text = page.inner_text("[data-testid=notice-error]")
        assert "unknown_agent" in text and "no agent named 'nobody'" in text
        page.wait_for_selector("[data-testid=connection-state][data-state=closed]", timeout=TIMEOUT * 1000)


def test_reload_notices_and_the_drain_notice(browser: Browser, tmp_path: Path) -> None:
    folder = tmp_path / "agents.d"
    shutil.copytree(EXAMPLE, folder)
    with open_console(browser, folder, reload=True) as console:
        page = console.page
        before = page.inner_text("[data-testid=graph-version]")
        weather = folder / "weather.yaml"
        original = weather.read_text()
        weather.write_text(original.replace("handoffs:", "handoffs:\n  - nobody"))
        page.wait_for_selector("[data-testid=notice-reload-rejected]", timeout=TIMEOUT * 1000)
        rejected = page.inner_text("[data-testid=notice-reload-rejected]")
        assert "weather.yaml" in rejected and "nobody" in rejected
        assert page.inner_text("[data-testid=graph-version]") == before

        weather.write_text(original.replace("one or two sentences", "one sentence"))
        page.wait_for_selector("[data-testid=notice-graph-updated]", timeout=TIMEOUT * 1000)
        after = page.inner_text("[data-testid=graph-version]")
        assert after != before and after in page.inner_text("[data-testid=notice-graph-updated]")

        console.url.server.shutdown()
        page.wait_for_selector("[data-testid=notice-closing]", timeout=TIMEOUT * 1000)
        assert "shutdown" in page.inner_text("[data-testid=notice-closing]")
        page.wait_for_selector("[data-testid=connection-state][data-state=closed]", timeout=TIMEOUT * 1000)
        assert page.is_visible("[data-testid=reconnect]")
        assert page.is_disabled("[data-testid=text-input]")


def test_console_screenshot(console: Console, tmp_path: Path) -> None:
    """The picture in docs/images/console.png (rewritten only with RTGRAPH_UPDATE_SCREENSHOT=1, so
    a test run never dirties the checkout): a handoff, an approved tool call and its result, and a
    second call waiting for approval."""
    page = console.page
    console.type_turn("Booking please: book a table restaurant=Septime time=19:30")
    first = page.locator("[data-testid=tool-call][data-tool=book_table]").first
    first.locator("[data-testid=approve-once]").click(timeout=TIMEOUT * 1000)
    console.wait(lambda: any("book_table returned" in t for t in console.bubble_texts("assistant")), "the reply")
    console.type_turn("Also book a table restaurant=Frenchie time=20:15")
    page.locator("[data-testid=tool-call][data-tool=book_table]").nth(1).locator(
        "[data-testid=approve-once]").wait_for(timeout=TIMEOUT * 1000)
    page.wait_for_timeout(300)
    target = SCREENSHOT if os.environ.get("RTGRAPH_UPDATE_SCREENSHOT") == "1" else tmp_path / "console.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    assert target.stat().st_size < 400_000
