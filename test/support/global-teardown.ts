import { services } from './services';

// Stops what the global setup started; DNSFLOW_KEEP_SERVICES=1 keeps them for the next run.

export default function teardown(): void {
  const started = (process.env['DNSFLOW_TEST_STARTED_SERVICES'] ?? '').split(' ').filter(Boolean);
  if (started.length === 0 || process.env['DNSFLOW_KEEP_SERVICES'] === '1') return;
  const down = services('down', ...started);
  if (down.status !== 0) throw new Error(`scripts/services.sh down failed:\n${down.output}`);
}
