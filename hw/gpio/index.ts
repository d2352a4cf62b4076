/** hw/gpio: the board's I/O behind our own GPIO interface (see board-io.ts). */
export type { BitValue, GpioBackend, GpioEdge, GpioLine, GpioLineSpec } from './gpio-line';
export { OnoffBackend, type OnoffGpioClass } from './onoff-backend';
export { gpioSchema, type GpioConfig, type GpioLineConfig } from './gpio-config';
export { BoardIo, type BoardIoHealth, type BoardIoOptions } from './board-io';
export { FrontButton, type ButtonState } from './front-button';
export { LedDriver, LED_PATTERNS, type LedPattern } from './led-pattern';
export { TransferRelay } from './transfer-relay';
export { CardResetLine } from './card-reset';
export { DebouncedInput } from './debounced-input';
