import { createServer, connect, type Server, type Socket } from 'node:net';

/** The Kafka outage listener: the broker listens here and advertises the relay port. */
export const KAFKA_OUTAGE_BROKER = { host: '127.0.0.1', port: 9095 };
export const KAFKA_OUTAGE_RELAY = '127.0.0.1:9096';

/**
 * A TCP relay in front of a real server. `cut()` closes every connection and stops
 * listening, so clients see exactly what an unreachable server looks like (refused
 * connections, dropped sockets); `restore()` listens again.
 */
export class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly listenPort: number,
    private readonly target: { host: string; port: number },
  ) {}

  async restore(): Promise<void> {
    if (this.server !== null) return;
    const server = createServer((inbound) => {
      const outbound = connect(this.target.port, this.target.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
