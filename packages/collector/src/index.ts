export { LinkType } from './capture/frame';
export type { Frame } from './capture/frame';
export type { DnsSegment, DropSink, PacketDropReason } from './decode/segment';
