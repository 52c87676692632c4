import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A DNS server "behind a slow link": it listens on `listen`, holds every query for
 * `delayMs`, forwards it to `upstream`, and sends the answer back. The sandbox uses it where
 * the kernel has no `netem` qdisc (tc reports "Specified qdisc kind is unknown" on kernels
 * built without sch_netem), so a client sees the same added latency either way.
 */
export interface DelayRelayOptions {
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  delayMs: number;
  /** Queries held at once; more are dropped and counted (default 10,000). */
  maxInFlight?: number;
  /** Give up on an upstream answer after this long (default 5 s). */
  upstreamTimeoutMs?: number;
}

export interface DelayRelayStats {
  relayed: number;
  dropped: { reason: 'in_flight_limit' | 'upstream_timeout' | 'upstream_error'; count: number }[];
}

export class DelayRelay {
  private readonly udp: dgram.Socket;
  private readonly tcp: net.Server;
  private inFlight = 0;
  private relayed = 0;
  private readonly drops = { in_flight_limit: 0, upstream_timeout: 0, upstream_error: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<net.Socket | dgram.Socket>();

  private constructor(private readonly options: DelayRelayOptions) {
    this.udp = dgram.createSocket('udp4');
    this.tcp = net.createServer((client) => this.onTcpClient(client));
  }

  static async start(options: DelayRelayOptions): Promise<DelayRelay> {
    const relay = new DelayRelay(options);
    relay.udp.on('message', (msg, rinfo) => relay.onUdpQuery(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      relay.udp.once('error', reject);
      relay.udp.bind(options.listen.port, options.listen.host, () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      relay.tcp.once('error', reject);
      relay.tcp.listen(options.listen.port, options.listen.host, () => resolve());
    });
    return relay;
  }

  stats(): DelayRelayStats {
    return {
      relayed: this.relayed,
      dropped: Object.entries(this.drops).map(([reason, count]) => ({
        reason: reason as keyof typeof this.drops,
        count,
      })),
    };
  }

  private admit(): boolean {
    if (this.inFlight >= (this.options.maxInFlight ?? 10_000)) {
      this.drops.in_flight_limit++;
      return false;
    }
    this.inFlight++;
    return true;
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.options.delayMs);
    this.timers.add(timer);
  }

  private onUdpQuery(query: Buffer, client: dgram.RemoteInfo): void {
    if (!this.admit()) return;
    this.later(() => {
      const upstream = dgram.createSocket('udp4');
      this.sockets.add(upstream);
      const done = (reason?: keyof typeof this.drops): void => {
        clearTimeout(timeout);
        this.sockets.delete(upstream);
        upstream.close();
        this.inFlight--;
        if (reason !== undefined) this.drops[reason]++;
      };
      const timeout = setTimeout(
        () => done('upstream_timeout'),
        this.options.upstreamTimeoutMs ?? 5_000,
      );
      upstream.once('error', () => done('upstream_error'));
      upstream.once('message', (answer) => {
        this.udp.send(answer, client.port, client.address);
        this.relayed++;
        done();
      });
      upstream.send(query, this.options.upstream.port, this.options.upstream.host);
    });
  }

  /** TCP: the client's stream is delayed as a whole and piped to a fresh upstream connection. */
  private onTcpClient(client: net.Socket): void {
    if (!this.admit()) {
      client.destroy();
      return;
    }
    this.sockets.add(client);
    client.pause();
    client.once('close', () => {
      this.sockets.delete(client);
      this.inFlight--;
    });
    this.later(() => {
      const upstream = net.connect(this.options.upstream.port, this.options.upstream.host);
      this.sockets.add(upstream);
      upstream.once('close', () => this.sockets.delete(upstream));
      upstream.once('error', () => {
        this.drops.upstream_error++;
        client.destroy();
      });
      upstream.once('connect', () => this.relayed++);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) {
      if (s instanceof net.Socket) s.destroy();
      else s.close();
    }
    this.sockets.clear();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}
