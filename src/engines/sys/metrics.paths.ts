/**
 * sys/metrics: Vault's telemetry endpoint, JSON form (`Gauges`, `Counters`, `Samples` of
 * `{Name, Value, Labels}`). Gauges are declared as data below and read from storage at request
 * time, so every node answers the same. Needs a token with read on sys/metrics, as in Vault.
 */
import { raw, type RequestContext, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { badRequest } from '../../kernel/errors';
import type { AnomalyRepository } from '../../audit/anomaly.repository';

interface Sample {
  value: number;
  labels: Record<string, string>;
}

interface Gauge {
  name: string;
  help: string;
  collect(): Promise<Sample[]>;
}

const FIELDS: Fields = {
  format: { type: 'string', query: true, allowed: ['', 'json', 'prometheus'], description: 'Response format: JSON (default). "prometheus" is not available yet.' },
};

/** Vault's Go time format in the JSON: `2006-01-02 15:04:05 +0000 UTC`. */
function goTime(time: Date): string {
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

export function metricsGauges(anomalies: AnomalyRepository): Gauge[] {
  return [
    {
      name: 'secrethub_audit_anomalies',
      help: 'Credential anomalies stored, by kind, severity and whether resolved.',
      collect: async () => (await anomalies.counts()).map((c) => ({ value: c.count, labels: { kind: c.kind, severity: c.severity, resolved: String(c.resolved) } })),
    },
    {
      name: 'secrethub_audit_anomaly_scan_last_sequence',
      help: 'The last audit sequence number the anomaly job has consumed.',
      collect: async () => [{ value: await anomalies.cursor(), labels: {} }],
    },
  ];
}

export function metricsPaths(gauges: Gauge[]): RouteDefinition[] {
  return [
    {
      path: 'metrics',
      auth: 'token',
      allowedWhileSealed: false,
      fields: FIELDS,
      help: "The server's metrics (Vault's JSON telemetry format).",
      handlers: {
        read: async (ctx: RequestContext) => {
          if (ctx.data.format === 'prometheus') throw badRequest('prometheus is not enabled: sys/metrics answers JSON only');
          const values = [];
          for (const g of gauges) for (const s of await g.collect()) values.push({ Name: g.name, Value: s.value, Labels: s.labels });
          return raw(200, { Timestamp: goTime(new Date()), Gauges: values, Counters: [], Points: [], Samples: [] });
        },
      },
    },
  ];
}
