export { buildProgram, main } from './main';
export { decodeCommand } from './commands/decode';
export type { DecodeOptions, Io } from './commands/decode';
export { collectCommand } from './commands/collect';
export type { CollectOptions } from './commands/collect';
export { renderTable, tableRow, toNdjson } from './format';
