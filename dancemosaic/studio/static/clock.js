// The player's clock. With a song, the <audio> element IS the clock: every frame reads
// audio.currentTime, so the dance can never drift from what is heard, and the browser's own controls
// (play, pause, scrub) drive the dance for free. Without a song an internal clock offers the same
// interface, so the rest of the player never asks which one it has.

/** Clock backed by an <audio> element. */
export class AudioClock {
  constructor(audio) {
    this.audio = audio;
  }

  time() {
    return this.audio.currentTime || 0;
  }

  playing() {
    return !this.audio.paused && !this.audio.ended;
  }

  /** True from the moment currentTime is set until the seek completes (before any "seeking" event). */
  seeking() {
    return this.audio.seeking;
  }

  play() {
    // play() rejects when autoplay is refused; the user can still press the audio's own button.
    this.audio.play().catch(() => {});
  }

  pause() {
    this.audio.pause();
  }

  toggle() {
    if (this.playing()) this.pause();
    else this.play();
  }

  seek(seconds) {
    this.audio.currentTime = Math.max(0, seconds);
  }

  /** Play at ``rate`` times normal speed (the pitch is kept); a new song keeps the rate too. */
  setRate(rate) {
    this.audio.defaultPlaybackRate = rate; // what a newly loaded src starts at
    this.audio.playbackRate = rate;
  }
}

/** Clock driven by performance.now(), for dances without audio; stops at the end like audio does. */
export class InternalClock {
  constructor(duration) {
    this.duration = duration;
    this.offset = 0; // seconds shown while paused, and where the current run started
    this.startedAt = null; // performance.now() of the current run, null while paused
    this.rate = 1; // dance seconds per wall-clock second
    this.onChange = null; // called on play / pause, so a play button can relabel itself
  }

  time() {
    if (this.startedAt === null) return this.offset;
    const t = this.offset + ((performance.now() - this.startedAt) / 1000) * this.rate;
    if (t < this.duration) return t;
    this.offset = this.duration; // reached the end: stop there, as an audio element does
    this.startedAt = null;
    this._changed();
    return this.offset;
  }

  playing() {
    return this.startedAt !== null && this.time() < this.duration;
  }

  seeking() {
    return false; // its seeks are instant
  }

  play() {
    if (this.startedAt !== null) return;
    if (this.offset >= this.duration) this.offset = 0; // play at the end starts over
    this.startedAt = performance.now();
    this._changed();
  }

  pause() {
    if (this.startedAt === null) return;
    this.offset = this.time();
    this.startedAt = null;
    this._changed();
  }

  toggle() {
    if (this.playing()) this.pause();
    else this.play();
  }

  seek(seconds) {
    this.offset = Math.min(Math.max(0, seconds), this.duration);
    if (this.startedAt !== null) this.startedAt = performance.now();
  }

  setRate(rate) {
    if (this.startedAt !== null) [this.offset, this.startedAt] = [this.time(), performance.now()];
    this.rate = rate;
  }

  setDuration(duration) {
    this.duration = duration;
    this.offset = Math.min(this.offset, duration);
  }

  _changed() {
    if (this.onChange) this.onChange(this.startedAt !== null);
  }
}
