/**
 * Our own GPIO interface (DESIGN.md §7): board logic talks to `GpioLine`s opened from a
 * `GpioBackend`, never to onoff or sysfs directly, so a character-device backend can replace the
 * sysfs one (sysfs numbers move between kernels: line numbers always come from config).
 *
 * Values are logical: 1 = active (relay energised, LED lit, button pressed, tamper switch open),
 * with `activeLow` inverting the electrical level in the backend.
 */
export type BitValue = 0 | 1;
export type GpioEdge = 'none' | 'rising' | 'falling' | 'both';

export interface GpioLineSpec {
  /** What the line does on the board ("transfer-relay"), for logs and errors. */
  name: string;
  /** The backend's line number (sysfs: global GPIO number, e.g. 512 for PL061 line 0 on 6.12). */
  line: number;
  direction: 'in' | 'out';
  /** Inputs: which edges call `watch` callbacks (default both). */
  edge?: GpioEdge;
  activeLow?: boolean;
  /** Outputs: the value driven from the moment the line is opened (default 0). */
  initial?: BitValue;
}

export interface GpioLine {
  readonly spec: Readonly<GpioLineSpec>;
  read(): BitValue;
  /** Outputs only. */
  write(value: BitValue): void;
  /** Inputs only: `cb` gets the new value on each edge; returns the function that stops watching. */
  watch(cb: (value: BitValue) => void): () => void;
  /** Releases the line (an output is first driven to 0). */
  close(): void;
}

export interface GpioBackend {
  readonly kind: string;
  open(spec: GpioLineSpec): GpioLine;
}
