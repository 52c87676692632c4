#!/usr/bin/env node
// Writes packages/collector/conformance/REPORT.md and results.json: every case of the
// peer corpus (Zeek dns.log baselines, suricata-verify test.yaml checks) run through
// dnsflow's decoder and pairing. The comparison code is the TypeScript under
// packages/collector/test/conformance, shared with the conformance test; this script
// loads it (and the package sources) with TypeScript's transpiler, so no build is needed.
//
// Usage: npm run conformance   (DNSFLOW_CORPUS=<dir> to use another corpus copy)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');

// Package names resolve to their sources, as jest's moduleNameMapper does for the tests.
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@dnsflow\/([a-z-]+)$/.exec(request);
  if (m) return path.join(root, 'packages', m[1], 'src', 'index.ts');
  return resolve.call(this, request, parent, ...rest);
};
Module._extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};

const { runAll, DEFAULT_CORPUS } = require(
  path.join(root, 'packages/collector/test/conformance/corpus.ts'),
);

const out = path.join(root, 'packages/collector/conformance');

function cellText(text) {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function report(results) {
  const counts = { matched: 0, differs: 0, unsupported: 0 };
  for (const r of results) counts[r.status]++;
  const lines = [
    '# Conformance of the collector with the peer DNS corpus',
    '',
    'Regenerate with `npm run conformance` (runs `node scripts/conformance.js`; no build needed).',
    `The corpus is read from \`DNSFLOW_CORPUS\` (default \`${DEFAULT_CORPUS}\`); see its README and MANIFEST.`,
    '`packages/collector/test/conformance/conformance.test.ts` fails when a case leaves or joins',
    '`matched` without this report being regenerated.',
    '',
    'Each case decodes the pcap with `decodeCaptureFile` (default collector config; extra ports',
    'and a longer pairing timeout only where the expectation itself shows them) and compares the',
    'transactions with what the peer test expects:',
    '',
    '- Zeek: each dns.log row is matched to a transaction by transport, endpoints, id and query;',
    '  status (answered / unanswered / lone response), qtype, qclass, rcode, AA/TC/RD/RA, Z',
    "  (query's AD/CD bits, unanswered rows), rtt, opcode, original_query, answers and TTLs",
    "  (dnsflow's records rendered in Zeek's text form, names compared case-insensitively,",
    '  addresses by value), auth/addl as sets. A repeated query is a Zeek row but a',
    '  retransmission inside one dnsflow transaction; a second response is a Zeek row but',
    '  `duplicateResponses` in dnsflow.',
    '- Suricata: each transaction is turned into the eve records Suricata would write (v3, or v2',
    '  where the test pins it), honouring the eve `dns` output options of the case; each',
    '  `filter:` check counts matching records. Fields dnsflow does not keep (tx_id, Z bit,',
    '  flags of an answered query, ...) are unknown: the check holds when its count lies',
    '  within the certain and possible matches. Alert, flow and stats checks are not compared.',
    '',
    `## Summary: ${counts.matched} matched, ${counts.differs} differ, ${counts.unsupported} unsupported (${results.length} cases)`,
    '',
    '| case | status | reason |',
    '|---|---|---|',
  ];
  for (const r of results) {
    lines.push(`| ${r.id} | ${r.status} | ${cellText(r.reason)} |`);
  }
  lines.push('', '## Details', '');
  for (const r of results) {
    lines.push(`### ${r.id}: ${r.status}`, '');
    if (r.settings) lines.push(`Settings: ${r.settings}.`, '');
    if (r.differences.length > 0) {
      lines.push('Differences:', '');
      for (const d of r.differences) lines.push(`- ${d}`);
      lines.push('');
    }
    if (r.notCompared.length > 0) {
      lines.push('Not compared:', '');
      for (const n of r.notCompared) lines.push(`- ${n}`);
      lines.push('');
    }
    if (r.status !== 'matched' && r.differences.length === 0) lines.push(`${r.reason}`, '');
  }
  return { text: lines.join('\n'), counts };
}

async function main() {
  const results = await runAll();
  const { text, counts } = report(results);
  fs.mkdirSync(out, { recursive: true });
  // Formatted as `prettier --check` expects, so a regenerated report passes the lint.
  const prettier = require('prettier');
  const reportFile = path.join(out, 'REPORT.md');
  const options = (await prettier.resolveConfig(reportFile)) ?? {};
  fs.writeFileSync(reportFile, await prettier.format(text, { ...options, parser: 'markdown' }));
  const statuses = {};
  for (const r of results) statuses[r.id] = r.status;
  const resultsFile = path.join(out, 'results.json');
  fs.writeFileSync(
    resultsFile,
    await prettier.format(JSON.stringify(statuses), { ...options, parser: 'json' }),
  );
  console.log(
    `conformance: ${counts.matched} matched, ${counts.differs} differ, ${counts.unsupported} unsupported`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
