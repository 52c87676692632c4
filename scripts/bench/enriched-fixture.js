'use strict';
// Distinct enriched transactions for the indexer and Elasticsearch benchmarks, built from
// test/fixtures/enriched-transactions.json: each copy gets its own times, DNS id and client
// port, so each has its own document _id.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

/**
 * `count` records, one every `stepUs` microseconds from 2026-01-15T12:00:00Z; `schema` is the
 * built @dnsflow/schema package.
 */
function distinctEnrichedRecords(schema, count, stepUs) {
  const fixture = JSON.parse(
    fs.readFileSync(path.join(root, 'test', 'fixtures', 'enriched-transactions.json'), 'utf8'),
    (key, value) =>
      key === 'data' && typeof value === 'string' && value.startsWith('base64:')
        ? Buffer.from(value.slice(7), 'base64')
        : value,
  );
  const type = schema.latestSchema('EnrichedDnsTransaction').type;
  const baseUs = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000;
  const out = [];
  for (let i = 0; i < count; i++) {
    const r = type.clone(fixture[i % fixture.length]);
    const tx = r.transaction;
    tx.startTimeUs = baseUs + i * stepUs;
    tx.captureTimeUs = tx.startTimeUs + 10_000;
    if (tx.endTimeUs !== null) tx.endTimeUs = tx.startTimeUs + (tx.latencyUs ?? 0);
    tx.dnsId = i % 65536;
    tx.client.port = 30000 + (i % 30000);
    r.enrichTimeUs = tx.captureTimeUs + 1000;
    out.push(r);
  }
  return out;
}

module.exports = { distinctEnrichedRecords };
