// Looping the selected segment: while playback runs through a selected range and reaches its end,
// the clock jumps back to the range's start (for the song's <audio> clock that is a seek). Play
// pressed outside every range starts at the next range, so "loop" always plays the selection.

// s: a larger jump between two animation frames is no playback (a seek the clock did not report, or
// a tab that slept); seeks themselves are told apart by clock.seeking() and seeked().
const MAX_STEP = 5.0;

export class SelectionLoop {
  /** ranges(): the selected [[start, end], ...] in seconds, sorted (the timeline's selection). */
  constructor(ranges) {
    this.ranges = ranges;
    this.on = false;
    this.last = null; // {time, playing} at the previous animation frame; null after a seek
  }

  /** The user (or anything but playback) moved the playhead: the next frame must not wrap. */
  seeked() {
    this.last = null;
  }

  /**
   * Called every animation frame; reads the clock and returns the time to show. Wraps when the
   * previous frame was playing inside a range and this one has reached (or passed) its end; a
   * clock that stopped there (the song or the dance ended) is started again.
   */
  step(clock) {
    // Playing is read before the time: read after, a clock that reaches the end between the two
    // reads would count this frame as stopped short of the end, and the loop would never wrap.
    const playing = clock.playing();
    const time = clock.time();
    const last = this.last;
    this.last = clock.seeking() ? null : { time, playing }; // mid-seek: the next frame starts afresh
    if (!this.on || !last || !this.last || !last.playing) return time;
    if (time - last.time < 0 || time - last.time > MAX_STEP) return time;
    const range = this.ranges().find(([a, b]) => last.time >= a && last.time < b);
    if (!range || time < range[1]) return time;
    clock.seek(range[0]);
    if (!clock.playing()) clock.play();
    this.last = { time: range[0], playing: true };
    return range[0];
  }

  /** Playback is starting at ``time``: outside every range, go to the next range's start. */
  enter(clock, time) {
    const ranges = this.ranges();
    if (!this.on || ranges.length === 0 || ranges.some(([a, b]) => time >= a && time < b)) return;
    const next = ranges.find(([a]) => a > time) || ranges[0];
    clock.seek(next[0]);
    this.seeked();
  }
}
