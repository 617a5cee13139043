// Assistant audio playback on the audio thread.
//
// The page posts PCM16 chunks tagged with their item (item_id, content_index). Each chunk is
// resampled to the AudioContext's rate on arrival and queued. While rendering, every output
// sample taken from a chunk credits the proportional share of that chunk's source samples to its
// item, so the worklet knows exactly how much of each item the listener has heard (an underrun
// renders silence and credits nothing). Credits are posted every `reportMs` of rendered time and
// once more when the queue is flushed; the page turns them into `played` messages for the
// server's PlaybackTracker, so a barge-in truncates the item where the listener stopped hearing it.
//
// Audio arrives in ~100 ms deltas with network jitter: after an underrun (or at the start) the
// player waits until `prebufferMs` is queued, or as long again for a short tail, before it plays.
import { LinearResampler, pcm16ToFloat } from "./resample.js";

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { sourceRate, reportMs, prebufferMs } = options.processorOptions;
    this.sourceRate = sourceRate;
    this.reportFrames = Math.max(128, Math.round((sampleRate * reportMs) / 1000));
    this.queue = [];
    this.key = null;
    this.resampler = null;
    this.credits = new Map(); // key -> {item_id, content_index, samples} since the last report
    this.sinceReport = 0;
    this.playing = false;
    this.prebufferFrames = Math.round((sampleRate * (prebufferMs ?? 60)) / 1000);
    this.waiting = true;
    this.waited = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message.type === "chunk") this.enqueue(message.item_id, message.content_index, new Int16Array(message.pcm));
    else if (message.type === "flush") this.flush(message.id);
    else if (message.type === "rate") this.sourceRate = message.sourceRate;
  }

  enqueue(itemId, contentIndex, pcm) {
    const key = `${itemId}\u0000${contentIndex}`;
    if (key !== this.key) {
      this.key = key;
      this.resampler = new LinearResampler(this.sourceRate, sampleRate);
    }
    const data = this.resampler.process(pcm16ToFloat(pcm));
    this.queue.push({ key, itemId, contentIndex, data, read: 0, sourceLength: pcm.length, credited: 0 });
  }

  credit(segment, samples) {
    if (samples <= 0) return;
    const entry = this.credits.get(segment.key);
    if (entry) entry.samples += samples;
    else this.credits.set(segment.key, { item_id: segment.itemId, content_index: segment.contentIndex, samples });
  }

  takeCredits() {
    const reports = [...this.credits.values()];
    this.credits.clear();
    return reports;
  }

  flush(id) {
    const dropped = this.queue.reduce((n, s) => n + (s.sourceLength - s.credited), 0);
    this.queue = [];
    this.key = null;
    this.sinceReport = 0;
    this.waiting = true;
    this.waited = 0;
    this.setPlaying(false);
    this.port.postMessage({ type: "flushed", id, reports: this.takeCredits(), droppedSamples: dropped });
  }

  setPlaying(playing) {
    if (playing !== this.playing) {
      this.playing = playing;
      this.port.postMessage({ type: "state", playing });
    }
  }

  process(inputs, outputs) {
    const channels = outputs[0];
    const out = channels[0];
    let o = 0;
    if (this.waiting && this.queue.length > 0) {
      const buffered = this.queue.reduce((n, seg) => n + seg.data.length - seg.read, 0);
      this.waited += out.length;
      if (buffered >= this.prebufferFrames || this.waited >= this.prebufferFrames) this.waiting = false;
    }
    while (!this.waiting && this.queue.length > 0 && (o < out.length || this.queue[0].data.length === this.queue[0].read)) {
      const segment = this.queue[0];
      const take = Math.min(out.length - o, segment.data.length - segment.read);
      out.set(segment.data.subarray(segment.read, segment.read + take), o);
      segment.read += take;
      o += take;
      const done = segment.read === segment.data.length;
      const credited = done ? segment.sourceLength
        : Math.floor((segment.read * segment.sourceLength) / segment.data.length);
      this.credit(segment, credited - segment.credited);
      segment.credited = credited;
      if (done) this.queue.shift();
    }
    if (!this.waiting && this.queue.length === 0) {
      this.waiting = true; // underrun: rebuffer before playing on
      this.waited = 0;
    }
    for (let c = 1; c < channels.length; c++) channels[c].set(out);
    this.setPlaying(o > 0 || this.queue.length > 0);
    this.sinceReport += out.length;
    if (this.sinceReport >= this.reportFrames) {
      this.sinceReport = 0;
      if (this.credits.size > 0) this.port.postMessage({ type: "played", reports: this.takeCredits() });
    }
    return true;
  }
}

registerProcessor("rtgraph-playback", PlaybackProcessor);
