import type { Logger } from '@dnsflow/runtime';
import type { ResourceKind } from '../identity/kube';
import type { IdentityStore } from '../identity/store';
import type { InformerSink } from './informer';

/** Feeds informer lists and events into the identity store. */
export function storeSink(store: IdentityStore, log: Logger): InformerSink {
  return {
    replace(resource, objects, receivedUs) {
      const result = store.replace(resource.kind as ResourceKind, objects, receivedUs);
      if (result.ignored > 0) {
        log.warn(
          { resource: resource.name, ignored: result.ignored },
          'list items without a name ignored',
        );
      }
    },
    event(resource, type, object, receivedUs) {
      const result = store.apply({ type, object, kind: resource.kind as ResourceKind }, receivedUs);
      if (result.status === 'ignored' && result.reason !== 'stale-delete') {
        log.warn(
          { resource: resource.name, reason: result.reason, detail: result.detail },
          'watch event ignored',
        );
      }
    },
  };
}
