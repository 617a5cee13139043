// The rtgraph voice console: wires the session socket, audio, the timeline, the handoff graph
// and the notices together. Protocol: docs/serve.md ("Browser protocol v1").
import { AudioEngine } from "./audio.js";
import { describeClose, SessionSocket, sessionUrl, takeTokenFromFragment } from "./connection.js";
import { GraphView } from "./graph-view.js";
import { Notices } from "./notices.js";
import { Timeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);

const ui = {
  state: $("connection-state"),
  stateText: $("connection-state-text"),
  reconnect: $("reconnect"),
  sessionInfo: $("session-info"),
  version: $("graph-version"),
  sessionId: $("session-id"),
  audioState: $("audio-state"),
  activeAgent: $("active-agent"),
  composer: $("composer"),
  input: $("text-input"),
  send: $("send"),
  mic: $("mic"),
  micLevel: $("mic-level"),
  stop: $("stop"),
  speaking: $("speaking"),
  tokenForm: $("token-form"),
  tokenInput: $("token-input"),
};

let token = takeTokenFromFragment();
let socket = null;
let session = null; // the `session` message
let currentItem = null; // {item_id, content_index} for the binary frames that follow
const interrupted = new Set(); // item keys whose audio was flushed: late frames are dropped

const itemKey = (itemId, contentIndex) => `${itemId}\u0000${contentIndex}`;

const notices = new Notices($("notices"));
const graph = new GraphView($("graph"), $("agent-details"));
const timeline = new Timeline($("timeline"), {
  approve: (callId, always) => send({ type: "approve", call_id: callId, always }),
  reject: (callId, always, message) => send({ type: "reject", call_id: callId, always, message }),
});

const audio = new AudioEngine({
  onFrame: (pcm) => socket && socket.sendBinary(pcm),
  onPlayed: (reports) => {
    for (const r of reports) {
      if (r.samples > 0) send({ type: "played", item_id: r.item_id, content_index: r.content_index, bytes: r.samples * 2 });
    }
  },
  onPlaying: (playing) => {
    ui.speaking.hidden = !playing;
    ui.stop.disabled = !playing;
    document.body.dataset.playing = playing ? "true" : "false";
  },
  onLevel: (level) => {
    ui.micLevel.value = Math.min(1, level * 4);
  },
  onStateChange: (state) => {
    ui.audioState.hidden = state !== "suspended";
    document.body.dataset.audio = state;
  },
});

function send(message) {
  if (socket) socket.send(message);
}

function setConnection(state, text) {
  ui.state.dataset.state = state;
  document.body.dataset.connection = state;
  ui.stateText.textContent = text;
  const live = state === "connected";
  ui.input.disabled = !live;
  ui.send.disabled = !live;
  ui.mic.disabled = !live;
  ui.reconnect.hidden = state === "connected" || state === "connecting";
}

function setActive(name) {
  ui.activeAgent.textContent = name;
  graph.setActive(name);
}

const handlers = {
  session(m) {
    if (m.protocol !== 1) {
      notices.add("error", "Protocol mismatch", `This console speaks protocol 1; the server sent ${m.protocol}.`);
      socket.close();
      return;
    }
    session = m;
    interrupted.clear();
    currentItem = null;
    ui.version.textContent = m.graph_version;
    ui.sessionId.textContent = m.session_id;
    ui.sessionInfo.hidden = false;
    graph.render(m.graph);
    setActive(m.agent);
    setConnection("connected", "Connected");
    audio.setup(m.audio.input.rate, m.audio.output.rate).catch((error) => {
      notices.add("error", "Audio is unavailable", `${error.name || "Error"}: ${error.message}. Typed turns still work.`);
    });
  },
  audio(m) {
    currentItem = { item_id: m.item_id, content_index: m.content_index };
  },
  audio_end() {},
  audio_interrupted(m) {
    interrupted.add(itemKey(m.item_id, m.content_index));
    if (currentItem && currentItem.item_id === m.item_id) interrupted.add(itemKey(currentItem.item_id, currentItem.content_index));
    audio.flush();
    timeline.interrupted(m.item_id);
  },
  transcript(m) {
    timeline.transcript(m);
  },
  agent(m) {
    setActive(m.name);
  },
  handoff(m) {
    graph.handoff(m.from, m.to);
    ui.activeAgent.textContent = m.to;
    timeline.handoff(m.from, m.to);
  },
  tool_start(m) {
    timeline.toolStart(m);
  },
  tool_end(m) {
    timeline.toolEnd(m);
  },
  approval_required(m) {
    timeline.approvalRequired(m);
    notices.add("warning", `Approval needed: ${m.name}`, null, "notice-approval");
  },
  guardrail_tripped(m) {
    timeline.guardrail(m);
    notices.add("warning", `Guardrail ${m.guardrail} tripped`, m.text || null, "notice-guardrail");
  },
  graph_updated(m) {
    ui.version.textContent = m.version;
    if (m.graph) graph.render(m.graph);
    if (m.agent) setActive(m.agent);
    notices.add("success", `Graph updated to ${m.version}`, m.agent ? `Active agent: ${m.agent}` : null, "notice-graph-updated");
  },
  reload_rejected(m) {
    notices.add("error", "Reload rejected: this session keeps its graph", m.message, "notice-reload-rejected");
  },
  error(m) {
    notices.add("error", `Error: ${m.code || "error"}`, m.message || null, "notice-error");
  },
  closing(m) {
    setConnection("closing", `Closing (${m.reason})`);
    notices.add("warning", "The server is closing this session", m.reason, "notice-closing");
  },
};

function onMessage(message) {
  const handler = handlers[message.type];
  if (handler) handler(message);
  // unknown types are ignored: a newer server may send more (the protocol version says what is required)
}

function onAudio(buffer) {
  if (!currentItem || interrupted.has(itemKey(currentItem.item_id, currentItem.content_index))) return;
  audio.play(currentItem.item_id, currentItem.content_index, buffer);
}

async function onClose({ code, reason, opened }) {
  socket = null;
  audio.stopMic();
  ui.mic.setAttribute("aria-pressed", "false");
  audio.flush();
  const text = describeClose(code, reason, opened);
  if (opened) {
    setConnection("closed", code === 1013 ? "At capacity" : "Disconnected");
    notices.add(code === 1000 ? "info" : "warning", text, null, "notice-closed");
    return;
  }
  setConnection("closed", "Not connected");
  let detail = "The server refused the connection.";
  try {
    const ready = await fetch("readyz", { cache: "no-store" });
    if (ready.status === 503) {
      const body = await ready.json().catch(() => ({}));
      detail = `The server is not accepting sessions: ${body.reason || "not ready"}.`;
    } else if (ready.ok) {
      detail = token ? "The server refused the session: the access token or this page's origin is not accepted."
        : "The server refused the session. If it needs an access token, enter it below or open the page "
          + "with #token=… at the end of the address.";
      ui.tokenForm.hidden = false;
    }
  } catch {
    detail = "The server cannot be reached.";
  }
  notices.add("error", text, detail, "notice-refused");
}

function connect() {
  setConnection("connecting", "Connecting…");
  ui.tokenForm.hidden = true;
  socket = new SessionSocket({ url: sessionUrl(), token, onMessage, onAudio, onOpen: () => {}, onClose });
  socket.connect();
}

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  if (!text || !socket) return;
  send({ type: "text", text });
  timeline.typed(text);
  ui.input.value = "";
});

ui.mic.addEventListener("click", async () => {
  if (audio.micOn) {
    audio.stopMic();
    ui.mic.setAttribute("aria-pressed", "false");
    ui.mic.querySelector(".btn-label").textContent = "Start microphone";
    return;
  }
  try {
    await audio.startMic();
    ui.mic.setAttribute("aria-pressed", "true");
    ui.mic.querySelector(".btn-label").textContent = "Stop microphone";
  } catch (error) {
    notices.add("error", "Microphone unavailable", `${error.name || "Error"}: ${error.message}`, "notice-mic");
  }
});

async function stopPlayback() {
  // flush first: the final `played` report then reaches the server before the interrupt, so the
  // truncate lands exactly where the listener stopped hearing; late frames of the item are dropped
  if (currentItem) interrupted.add(itemKey(currentItem.item_id, currentItem.content_index));
  await audio.flush();
  send({ type: "interrupt" });
}

ui.stop.addEventListener("click", stopPlayback);
ui.reconnect.addEventListener("click", () => {
  if (!socket) connect();
});
ui.audioState.addEventListener("click", () => audio.resume());
ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  token = ui.tokenInput.value.trim() || null;
  ui.tokenInput.value = "";
  if (!socket) connect();
});
document.addEventListener("keydown", (event) => {
  audio.resume();
  if (event.key === "Escape" && !ui.stop.disabled) stopPlayback();
});
document.addEventListener("pointerdown", () => audio.resume());

connect();
