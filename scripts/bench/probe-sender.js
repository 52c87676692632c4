'use strict';
// Sends one DNS query (A, recursion desired) for `<prefix>-<n>.demo.example` every
// `intervalMs` to `server`:53 over UDP and prints "<name> <epoch ms>" as it sends, until
// killed. One long-lived process in the probe pod costs the machine almost nothing, where a
// dig started per probe cost a tenth of a core at 5 probes/s.
//
//   node probe-sender.js <server> <prefix> [intervalMs]
const dgram = require('node:dgram');

const [server, prefix, interval = '200'] = process.argv.slice(2);
if (!server || !prefix) {
  console.error('usage: probe-sender.js <server> <prefix> [intervalMs]');
  process.exit(2);
}

function query(id, name) {
  const labels = name
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]); // A IN
}

const socket = dgram.createSocket('udp4');
socket.on('message', () => undefined);
let n = 0;
setInterval(() => {
  const name = `${prefix}-${n}.demo.example`;
  socket.send(query(n & 0xffff, name), 53, server);
  n += 1;
  process.stdout.write(`${name} ${Date.now()}\n`);
}, Number(interval));
