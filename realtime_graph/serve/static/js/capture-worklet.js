// Microphone capture on the audio thread: mix to mono, resample from the AudioContext's rate to
// the session's input rate, convert to PCM16 and post fixed-size frames (transferred, not copied)
// to the page, which sends each one as a binary WebSocket frame.
import { LinearResampler, floatToPcm16, rms } from "./resample.js";

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate, frameMs } = options.processorOptions;
    this.resampler = new LinearResampler(sampleRate, targetRate);
    this.frameLength = Math.round((targetRate * frameMs) / 1000);
    this.frame = new Int16Array(this.frameLength);
    this.fill = 0;
    this.level = 0;
    this.stopped = false;
    this.port.onmessage = (event) => {
      if (event.data && event.data.type === "stop") this.stopped = true;
    };
  }

  process(inputs) {
    if (this.stopped) return false;
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no source connected yet
    let mono = channels[0];
    if (channels.length > 1) {
      mono = new Float32Array(mono.length);
      for (const channel of channels) for (let i = 0; i < channel.length; i++) mono[i] += channel[i] / channels.length;
    }
    this.level = Math.max(this.level * 0.9, rms(mono));
    let samples = this.resampler.process(mono);
    while (samples.length > 0) {
      const take = Math.min(samples.length, this.frameLength - this.fill);
      floatToPcm16(samples.subarray(0, take), this.frame, this.fill);
      this.fill += take;
      samples = samples.subarray(take);
      if (this.fill === this.frameLength) {
        const buffer = this.frame.buffer;
        this.port.postMessage({ type: "frame", pcm: buffer, level: this.level }, [buffer]);
        this.frame = new Int16Array(this.frameLength);
        this.fill = 0;
      }
    }
    return true;
  }
}

registerProcessor("rtgraph-capture", CaptureProcessor);
