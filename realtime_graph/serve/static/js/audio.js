// The page's side of audio: one AudioContext, the capture and playback worklets, the microphone.
//
// AudioContexts start suspended until the user interacts with the page (browser autoplay
// policy); `resume()` is called from every click and key press, and `onStateChange` tells the
// page so it can say "click to enable audio" meanwhile.

const FRAME_MS = 40; // microphone frame length sent to the server
const REPORT_MS = 50; // how often the player reports what it played
const PREBUFFER_MS = 60; // jitter buffer before playing (at the start and after an underrun)

export class AudioEngine {
  /**
   * @param {{onFrame: (pcm: ArrayBuffer) => void, onPlayed: (reports: Array<object>) => void,
   *          onPlaying: (playing: boolean) => void, onLevel: (level: number) => void,
   *          onStateChange: (state: string) => void}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.context = null;
    this.player = null;
    this.capture = null;
    this.stream = null;
    this.ready = null;
    this.inputRate = 24000;
    this.outputRate = 24000;
    this.flushes = new Map();
    this.nextFlush = 1;
  }

  /** Create the context and the player for the session's rates (idempotent per rate pair). */
  async setup(inputRate, outputRate) {
    this.inputRate = inputRate;
    if (this.ready) {
      await this.ready;
      if (outputRate !== this.outputRate) {
        this.outputRate = outputRate;
        this.player.port.postMessage({ type: "rate", sourceRate: outputRate });
      }
      return;
    }
    this.outputRate = outputRate;
    this.ready = this.build();
    await this.ready;
  }

  async build() {
    const context = new AudioContext({ latencyHint: "interactive" });
    this.context = context;
    context.onstatechange = () => this.handlers.onStateChange(context.state);
    const base = new URL(".", import.meta.url);
    await context.audioWorklet.addModule(new URL("playback-worklet.js", base));
    await context.audioWorklet.addModule(new URL("capture-worklet.js", base));
    this.player = new AudioWorkletNode(context, "rtgraph-playback", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { sourceRate: this.outputRate, reportMs: REPORT_MS, prebufferMs: PREBUFFER_MS },
    });
    this.player.port.onmessage = (event) => this.onPlayerMessage(event.data);
    this.player.connect(context.destination);
    this.handlers.onStateChange(context.state);
  }

  get state() {
    return this.context ? this.context.state : "closed";
  }

  /** Called on user gestures: lets a suspended context run. */
  resume() {
    if (this.context && this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  onPlayerMessage(message) {
    if (message.type === "played") this.handlers.onPlayed(message.reports);
    else if (message.type === "state") this.handlers.onPlaying(message.playing);
    else if (message.type === "flushed") {
      this.handlers.onPlayed(message.reports);
      const done = this.flushes.get(message.id);
      this.flushes.delete(message.id);
      if (done) done(message);
    }
  }

  /** Queue assistant audio (PCM16 at the output rate) for an item. */
  play(itemId, contentIndex, pcm) {
    if (!this.player) return;
    this.player.port.postMessage({ type: "chunk", item_id: itemId, content_index: contentIndex, pcm }, [pcm]);
  }

  /**
   * Drop everything queued. Resolves after the player reported its final credits (which the
   * page has sent as `played` by then).
   */
  flush() {
    if (!this.player) return Promise.resolve({ reports: [], droppedSamples: 0 });
    const id = this.nextFlush++;
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      this.player.port.postMessage({ type: "flush", id });
    });
  }

  get micOn() {
    return this.stream !== null;
  }

  /** Start the microphone; rejects with the browser's error (e.g. NotAllowedError). */
  async startMic() {
    if (this.stream) return;
    await this.ready;
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const source = this.context.createMediaStreamSource(stream);
    const capture = new AudioWorkletNode(this.context, "rtgraph-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit",
      processorOptions: { targetRate: this.inputRate, frameMs: FRAME_MS },
    });
    capture.port.onmessage = (event) => {
      if (event.data.type === "frame") {
        this.handlers.onFrame(event.data.pcm);
        this.handlers.onLevel(event.data.level);
      }
    };
    source.connect(capture);
    this.stream = stream;
    this.capture = { node: capture, source };
  }

  stopMic() {
    if (!this.stream) return;
    this.capture.source.disconnect();
    this.capture.node.port.postMessage({ type: "stop" });
    this.capture.node.disconnect();
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.capture = null;
    this.handlers.onLevel(0);
  }

  async close() {
    this.stopMic();
    if (this.context) await this.context.close().catch(() => {});
    this.context = null;
    this.player = null;
    this.ready = null;
  }
}
