import net from 'node:net';

/**
 * A TCP port forward from an address pods can reach (the node's bridge address) to a
 * server that listens on the node's loopback only, such as the local kube-apiserver. CoreDNS
 * in its pod namespace reaches the API server through it, as a pod reaches the real one
 * through the `kubernetes` service.
 */
export class TcpForwarder {
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  static async start(
    listen: { host: string; port: number },
    target: { host: string; port: number },
  ): Promise<TcpForwarder> {
    const server = net.createServer();
    const forwarder = new TcpForwarder(server);
    server.on('connection', (client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        forwarder.sockets.add(s);
        s.once('close', () => forwarder.sockets.delete(s));
        s.once('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    return forwarder;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
