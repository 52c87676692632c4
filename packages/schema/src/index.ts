export { CodecError } from './errors';
export type { CodecErrorReason } from './errors';
export { crc64Avro, crc64AvroBytes } from './crc64';
export { AVSC_DIR, describeSchema, latestSchema, parseSchema, shippedSchemas } from './schemas';
export type { SchemaName, SchemaVersion } from './schemas';
export { SingleObjectFraming, createCodec } from './codec';
export type { CodecOptions, DecodeResult, RecordCodec, UnframeResult, WireFraming } from './codec';
export { communityId } from './community-id';
export { DNS_DATASET, ECS_VERSION, ecsJson, isoMicros, toEcs } from './ecs';
export { EcsTranscoder } from './ecs-bytes';
export type { ByteSink } from './ecs-bytes';
export { transactionKey } from './transaction-key';
export type {
  EcsAnswer,
  EcsDocument,
  EcsEdns,
  EcsEndpoint,
  EcsKubernetes,
  EcsOptions,
} from './ecs';
export {
  DNS_DATA_STREAM_PATTERN,
  DNS_INDEX_TEMPLATE,
  DEFAULT_RETENTION,
  dnsDataStream,
  dnsIndexTemplate,
  dnsMappings,
  dnsTemplates,
} from './templates';
export type { NamedTemplate, TemplateOptions, TemplateSet } from './templates';
export type {
  DnsTransaction,
  DomainFeatures,
  Edns,
  EdnsOption,
  Endpoint,
  EnrichedDnsTransaction,
  HeaderFlags,
  IdentityKind,
  K8sIdentity,
  Question,
  QueryTarget,
  ResourceRecord,
  SearchExpansion,
  TransactionStatus,
  Transport,
} from './generated/types';
