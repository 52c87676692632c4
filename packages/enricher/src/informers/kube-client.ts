import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type * as ClientNodeModule from '@kubernetes/client-node' with {
  'resolution-mode': 'import',
};
import {
  KubeApiError,
  type ApiObject,
  type KubeTransport,
  type ListPage,
  type WatchEventType,
  type WatchStream,
} from './types';

/** How to reach the API server. */
export interface KubeClientOptions {
  source: 'in-cluster' | 'kubeconfig';
  /** kubeconfig file; $KUBECONFIG or ~/.kube/config when absent. */
  kubeconfig?: string;
  context?: string;
  /** Timeout of one list request (watches are long-lived and have none). */
  requestTimeoutMs?: number;
}

type ClientNode = typeof ClientNodeModule;

/**
 * @kubernetes/client-node 1.x is an ES module. TypeScript (module node16) keeps this dynamic
 * import() as it is in the CommonJS output, and Node loads the ES module from there. Loading
 * it only here, on first use, keeps every module that merely mentions the informers loadable
 * where import() is unavailable (jest's module runtime without --experimental-vm-modules):
 * the informer-backed enricher is tested as a real `dnsflow enrich` process instead.
 */
async function loadClientNode(): Promise<ClientNode> {
  return import('@kubernetes/client-node');
}

/**
 * A {@link KubeTransport} on @kubernetes/client-node: its KubeConfig (in-cluster service
 * account, kubeconfig files with their auth plugins, exec credentials and TLS) authenticates
 * every request, its Watch streams watch events. Lists are plain GETs with the same agent
 * and headers so that items stay the API server's JSON (client-node's typed list calls turn
 * timestamps into Dates and would make list and watch objects differ).
 */
export async function createKubeTransport(options: KubeClientOptions): Promise<KubeTransport> {
  const k8s = await loadClientNode();
  const kc = new k8s.KubeConfig();
  if (options.source === 'in-cluster') kc.loadFromCluster();
  else if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KubeApiError(null, 'the kubeconfig names no current cluster', '');
  }
  const server = cluster.server.replace(/\/+$/, '');
  const watcher = new k8s.Watch(kc);
  const timeoutMs = options.requestTimeoutMs ?? 60_000;

  async function getJson(path: string, query: URLSearchParams): Promise<unknown> {
    const url = new URL(`${server}${path}?${query.toString()}`);
    const opts: {
      headers?: Record<string, string>;
      agent?: HttpAgent | HttpsAgent;
      auth?: string;
    } = {};
    await kc.applyToHTTPSOptions(opts);
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          headers: { ...opts.headers, accept: 'application/json' },
          ...(opts.agent ? { agent: opts.agent } : {}),
          ...(opts.auth ? { auth: opts.auth } : {}),
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) =>
            reject(new KubeApiError(null, err.message, path, { cause: err })),
          );
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status !== 200) {
              reject(
                new KubeApiError(
                  status,
                  `GET ${path}: HTTP ${status} ${statusMessage(text)}`,
                  path,
                ),
              );
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch (err) {
              reject(
                new KubeApiError(null, `GET ${path}: response is not JSON`, path, { cause: err }),
              );
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(new KubeApiError(null, `GET ${path}: ${err.message}`, path, { cause: err })),
      );
      req.end();
    });
  }

  return {
    server,
    async list(path, params): Promise<ListPage> {
      const query = new URLSearchParams({ limit: String(params.limit) });
      if (params.continueToken) query.set('continue', params.continueToken);
      const body = (await getJson(path, query)) as {
        items?: ApiObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      return {
        items: body.items ?? [],
        resourceVersion: body.metadata?.resourceVersion ?? '',
        ...(body.metadata?.continue ? { continueToken: body.metadata.continue } : {}),
      };
    },
    async watch(path, params, onEvent): Promise<WatchStream> {
      let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
      let failure: Error | undefined;
      let ended = false;
      const done = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      const finish = (err: Error | null | undefined): void => {
        if (ended) return;
        ended = true;
        const cause = failure ?? err;
        if (!cause) settle?.resolve();
        else if (cause instanceof KubeApiError) settle?.reject(cause);
        else {
          const status = (cause as { statusCode?: number }).statusCode ?? null;
          settle?.reject(
            new KubeApiError(status, `watch ${path}: ${cause.message}`, path, { cause }),
          );
        }
      };
      const handle: { controller?: AbortController } = {};
      const abort = (): void => {
        handle.controller?.abort();
        finish(null);
      };
      const controller = await watcher.watch(
        path,
        {
          resourceVersion: params.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: params.timeoutSeconds,
        },
        (type: string, object: ApiObject) => {
          if (ended) return;
          if (type === 'ERROR') {
            // A Status object: 410 Gone when the resourceVersion is too old.
            const status = object as unknown as { code?: number; message?: string };
            failure = new KubeApiError(
              status.code ?? null,
              `watch ${path}: ${status.message ?? 'error event'}`,
              path,
            );
            abort();
            return;
          }
          try {
            onEvent(type as WatchEventType, object);
          } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
            abort();
          }
        },
        (err: Error | null | undefined) => finish(err),
      );
      // An ERROR event may have ended the stream before the controller was known, and a watch
      // that could not be opened (refused, a non-200 answer) comes back already ended: that
      // is a failed open, not a stream that was open for a moment.
      handle.controller = controller;
      if (ended) {
        controller.abort();
        await done;
      }
      return { done, abort };
    },
  };
}

function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: string };
    return status.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
