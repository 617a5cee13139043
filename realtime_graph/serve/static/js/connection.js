// The browser session socket (protocol v1, docs/serve.md): subprotocol negotiation with an
// optional token, JSON text frames, binary PCM16 frames, and close codes in plain words.

export const PROTOCOL = "rtgraph.v1";
export const SESSION_PATH = "browser/session";

/** base64url without padding, of the token's UTF-8 bytes (a valid subprotocol token). */
export function tokenSubprotocol(token) {
  const bytes = new TextEncoder().encode(token);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `rtgraph.token.${btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/**
 * Read `#token=...` from the fragment (never sent to the server) and remove it from the address
 * bar, so it does not stay in history, bookmarks or screenshots.
 */
export function takeTokenFromFragment(win = window) {
  const hash = win.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const token = params.get("token");
  if (token === null) return null;
  params.delete("token");
  const rest = params.toString();
  win.history.replaceState(null, "", win.location.pathname + win.location.search + (rest ? `#${rest}` : ""));
  return token;
}

/** The session URL for this page: same origin, `?agent=` passed through. */
export function sessionUrl(win = window) {
  const url = new URL(SESSION_PATH, win.location.href.replace(/#.*$/, ""));
  url.protocol = win.location.protocol === "https:" ? "wss:" : "ws:";
  const agent = new URLSearchParams(win.location.search).get("agent");
  url.search = agent ? `?agent=${encodeURIComponent(agent)}` : "";
  return url.toString();
}

/** A close code (and reason) as a sentence for the page. */
export function describeClose(code, reason, opened) {
  const why = reason ? ` (${reason})` : "";
  if (!opened) return "Could not open the session socket";
  switch (code) {
    case 1000: return `The session ended${why}.`;
    case 1001: return `The server closed the session${why || " (going away)"}. Reconnect to start a new one.`;
    case 1008: return `The server refused the session${why}.`;
    case 1011: return `The session failed on the server${why}.`;
    case 1013: return `The server is at capacity${why || ""}. Try again later.`;
    default: return `The connection was lost (code ${code})${why}.`;
  }
}

export class SessionSocket {
  /**
   * @param {{url: string, token: string | null, onMessage: (m: object) => void,
   *          onAudio: (pcm: ArrayBuffer) => void, onOpen: () => void,
   *          onClose: (e: {code: number, reason: string, opened: boolean}) => void}} options
   */
  constructor(options) {
    this.options = options;
    this.ws = null;
    this.opened = false;
  }

  connect() {
    const { url, token } = this.options;
    const protocols = token ? [PROTOCOL, tokenSubprotocol(token)] : [PROTOCOL];
    const ws = new WebSocket(url, protocols);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.opened = true;
      this.options.onOpen();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          this.options.onMessage({ type: "error", code: "bad_server_message", message: "unreadable text frame" });
          return;
        }
        this.options.onMessage(message);
      } else {
        this.options.onAudio(event.data);
      }
    };
    ws.onclose = (event) => {
      this.ws = null;
      this.options.onClose({ code: event.code, reason: event.reason, opened: this.opened });
    };
    this.ws = ws;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (this.isOpen) this.ws.send(JSON.stringify(message));
  }

  sendBinary(buffer) {
    if (this.isOpen) this.ws.send(buffer);
  }

  close() {
    if (this.ws) this.ws.close(1000, "closed by the user");
  }
}
