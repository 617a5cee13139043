// PCM helpers shared by the page and both AudioWorklets (pure functions, no DOM, no audio API).
//
// The browser picks the AudioContext's rate (44.1 or 48 kHz on most machines); the session's
// rates come from the server's `session` message (24 kHz by default). Linear interpolation is
// enough for speech at these ratios and costs a few operations per sample on the audio thread.

/** Streaming linear-interpolation resampler: feed chunks, get chunks, no seams between them. */
export class LinearResampler {
  /**
   * @param {number} fromRate input sample rate (Hz)
   * @param {number} toRate output sample rate (Hz)
   */
  constructor(fromRate, toRate) {
    if (!(fromRate > 0) || !(toRate > 0)) throw new RangeError(`bad sample rates ${fromRate} -> ${toRate}`);
    this.step = fromRate / toRate; // input samples per output sample
    this.pos = 0; // position of the next output sample, relative to the next chunk's first sample
    this.prev = 0; // the previous chunk's last sample (position -1)
  }

  /**
   * @param {Float32Array} input
   * @returns {Float32Array}
   */
  process(input) {
    const n = input.length;
    if (n === 0) return new Float32Array(0);
    const step = this.step;
    let p = this.pos;
    // every output position p with p < n - 1 has both neighbours in (prev, input)
    const count = Math.max(0, Math.ceil((n - 1 - p) / step));
    const out = new Float32Array(count);
    for (let k = 0; k < count; k++) {
      const i = Math.floor(p);
      const a = i < 0 ? this.prev : input[i];
      const b = input[i + 1];
      out[k] = a + (b - a) * (p - i);
      p += step;
    }
    this.pos = p - n;
    this.prev = input[n - 1];
    return out;
  }
}

/**
 * @param {Int16Array} pcm
 * @returns {Float32Array} samples in [-1, 1)
 */
export function pcm16ToFloat(pcm) {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

/**
 * Clamp and convert float samples into `out` at `offset` (little-endian on every platform a
 * browser runs on, which is what the wire format PCM16 LE needs).
 * @param {Float32Array} input
 * @param {Int16Array} out
 * @param {number} offset
 */
export function floatToPcm16(input, out, offset = 0) {
  for (let i = 0; i < input.length; i++) {
    const s = input[i] < -1 ? -1 : input[i] > 1 ? 1 : input[i];
    out[offset + i] = s < 0 ? s * 32768 : s * 32767;
  }
}

/**
 * Root mean square of float samples, 0..1 (for the level meter).
 * @param {Float32Array} samples
 */
export function rms(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}
