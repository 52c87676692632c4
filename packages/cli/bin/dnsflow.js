#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (npm run build). Exit codes: 0 ok, 1 failure, 2 usage or config error.
// A closed pipe (`dnsflow decode x.pcap | head`) ends output quietly, as for any Unix tool.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
require('../dist/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
