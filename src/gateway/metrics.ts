/**
 * Prometheus metrics on the gateway's own prom-client Registry (never the global one, so an
 * application that embeds the gateway keeps its registry to itself).
 *
 * The hot path only bumps plain numbers on the hub; prom-client reads them at scrape time through
 * `collect`. A counter with labels costs a hash per inc(), far too much per delivered message.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Hub } from './hub.js';
import type { CloseReason } from './session.js';

export interface GatewayGauges {
  connections(): { ws: number; sse: number };
  clientSubscriptions(): number;
  publishes(): { ws: number; http: number };
  errors(): Record<string, number>;
  rejectedConnections(): Record<string, number>;
}

/** Sets a counter to an absolute total read from elsewhere. */
function setTotal(c: Counter<string>, labels: Record<string, string>, total: number, last: Map<string, number>): void {
  const key = JSON.stringify(labels);
  const prev = last.get(key) ?? 0;
  if (total > prev) c.inc(labels, total - prev);
  last.set(key, total);
}

export function createMetrics(hub: Hub, g: GatewayGauges, prefix = 'redstack_gateway_'): Registry {
  const registry = new Registry();
  const seen = new Map<string, Map<string, number>>();
  const last = (name: string): Map<string, number> => {
    let m = seen.get(name);
    if (!m) seen.set(name, (m = new Map()));
    return m;
  };

  new Gauge({
    name: prefix + 'connections',
    help: 'Open client connections by transport.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      const c = g.connections();
      this.set({ transport: 'ws' }, c.ws);
      this.set({ transport: 'sse' }, c.sse);
    },
  });
  new Gauge({
    name: prefix + 'redis_subscriptions',
    help: 'Subscriptions held on Redis (one per channel or pattern, whatever the number of clients).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'channel' }, hub.channelCount);
      this.set({ kind: 'pattern' }, hub.patternCount);
    },
  });
  new Gauge({
    name: prefix + 'client_subscriptions',
    help: 'Channel and pattern subscriptions summed over clients.',
    registers: [registry],
    collect() {
      this.set(g.clientSubscriptions());
    },
  });
  new Gauge({
    name: prefix + 'redis_up',
    help: '1 while the subscriber connection to Redis is up.',
    registers: [registry],
    collect() {
      this.set(hub.redisUp ? 1 : 0);
    },
  });
  new Counter({
    name: prefix + 'messages_in_total',
    help: 'Messages received from Redis.',
    registers: [registry],
    collect() {
      setTotal(this, {}, hub.counters.messagesIn, last('in'));
    },
  });
  new Counter({
    name: prefix + 'messages_out_total',
    help: 'Messages delivered to clients (one per client per message).',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      setTotal(this, { transport: 'ws' }, hub.counters.messagesOut.ws, last('out'));
      setTotal(this, { transport: 'sse' }, hub.counters.messagesOut.sse, last('out'));
    },
  });
  new Counter({
    name: prefix + 'messages_dropped_total',
    help: 'Messages dropped for clients over their send buffer bound (each client was sent `lagged`).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      setTotal(this, { reason: 'slow_consumer' }, hub.counters.dropped, last('dropped'));
    },
  });
  new Counter({
    name: prefix + 'disconnects_total',
    help: 'Client connections closed, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(hub.counters.disconnects) as [CloseReason, number][]) setTotal(this, { reason }, n, last('disc'));
    },
  });
  new Counter({
    name: prefix + 'rejected_connections_total',
    help: 'Connections refused before they were accepted, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(g.rejectedConnections())) setTotal(this, { reason }, n, last('rej'));
    },
  });
  new Counter({
    name: prefix + 'redis_reconnects_total',
    help: 'Times the subscriber connection came back after a loss (clients were sent `lagged`).',
    registers: [registry],
    collect() {
      setTotal(this, {}, hub.counters.redisReconnects, last('reconn'));
    },
  });
  new Counter({
    name: prefix + 'published_total',
    help: 'Messages published through the gateway, by entry point.',
    labelNames: ['via'],
    registers: [registry],
    collect() {
      const p = g.publishes();
      setTotal(this, { via: 'ws' }, p.ws, last('pub'));
      setTotal(this, { via: 'http' }, p.http, last('pub'));
    },
  });
  new Counter({
    name: prefix + 'client_errors_total',
    help: 'Error frames sent to clients, by wire code.',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      for (const [code, n] of Object.entries(g.errors())) setTotal(this, { code }, n, last('err'));
    },
  });
  return registry;
}
