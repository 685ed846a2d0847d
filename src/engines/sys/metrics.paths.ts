/**
 * sys/metrics: Vault's telemetry endpoint, JSON form (`Gauges`, `Counters`, `Samples` of
 * `{Name, Value, Labels}`) or, with `format=prometheus`, the Prometheus text exposition format.
 * Gauges are declared as data below and read from storage at request time, so every node answers
 * the same. Needs a token with read on sys/metrics, as in Vault.
 */
import { raw, route, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
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

const FIELDS = {
  format: {
    type: 'string',
    query: true,
    allowed: ['', 'json', 'prometheus'],
    description: 'Response format: JSON (default) or "prometheus" (text exposition format 0.0.4).',
  },
} as const satisfies Fields;

/** Vault's Go time format in the JSON: `2006-01-02 15:04:05 +0000 UTC`. */
function goTime(time: Date): string {
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A label value in the exposition format: backslash, double quote and newline escaped. */
const labelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function prometheusText(collected: { gauge: Gauge; samples: Sample[] }[]): string {
  const lines: string[] = [];
  for (const { gauge, samples } of collected) {
    lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
    for (const s of samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
      lines.push(`${gauge.name}${labels.length ? `{${labels.join(',')}}` : ''} ${s.value}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function metricsGauges(anomalies: AnomalyRepository): Gauge[] {
  return [
    {
      name: 'secrethub_audit_anomalies',
      help: 'Credential anomalies stored, by kind, severity and whether resolved.',
      collect: async () =>
        (await anomalies.counts()).map((c) => ({ value: c.count, labels: { kind: c.kind, severity: c.severity, resolved: String(c.resolved) } })),
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
    route({
      path: 'metrics',
      fields: FIELDS,
      help: "The server's metrics (Vault's JSON telemetry format, or Prometheus text with format=prometheus).",
      handlers: {
        read: async (ctx) => {
          const collected = [];
          for (const gauge of gauges) collected.push({ gauge, samples: await gauge.collect() });
          if (ctx.data.format === 'prometheus') return raw(200, prometheusText(collected), PROMETHEUS_CONTENT_TYPE);
          const values = collected.flatMap(({ gauge, samples }) => samples.map((s) => ({ Name: gauge.name, Value: s.value, Labels: s.labels })));
          return raw(200, { Timestamp: goTime(new Date()), Gauges: values, Counters: [], Points: [], Samples: [] });
        },
      },
    }),
  ];
}
