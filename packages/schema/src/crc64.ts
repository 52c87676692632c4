// CRC-64-AVRO (the Rabin fingerprint of the Avro specification, section "Schema Fingerprints"):
// the fingerprint single-object encoding puts after its 0xC3 0x01 marker.
const EMPTY = 0xc15d213aa4d7a795n;

const TABLE: bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) {
      fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    }
    table.push(fp);
  }
  return table;
})();

/** CRC-64-AVRO of `data`, as an unsigned 64-bit integer. */
export function crc64Avro(data: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of data) {
    fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  }
  return fp;
}

/** CRC-64-AVRO as the 8 little-endian bytes single-object encoding writes. */
export function crc64AvroBytes(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(crc64Avro(data));
  return out;
}
