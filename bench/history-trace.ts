// What the benchmarks that trace a request through Temporal share: when a workflow's
// history events happened (the server's clock, this machine's), and a sample added to its
// segment of the trace.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

export const { EventType } = proto.temporal.api.enums.v1;
type EventTypeValue = proto.temporal.api.enums.v1.EventType;

/** The times (epoch ms) of a workflow's history events by type: the first of a type, or its nth; NaN when there is none. */
export async function historyTimes(temporal: Client, workflowId: string): Promise<(type: EventTypeValue, nth?: number) => number> {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return (type, nth = 0) => {
    const ev = events.filter((e) => e.eventType === type)[nth];
    return epochMs(ev?.eventTime);
  };
}

const epochMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN);

/** The local activities a workflow ran, from their markers: type, and when each completed (the worker's clock, epoch ms). */
export async function localActivities(temporal: Client, workflowId: string): Promise<Array<{ type: string; completedMs: number }>> {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
    if (e.markerRecordedEventAttributes?.markerName !== 'core_local_activity' || !data) return [];
    const d = JSON.parse(Buffer.from(data).toString()) as { activity_type: string; complete_time: { seconds: number; nanos: number } };
    return [{ type: d.activity_type, completedMs: epochMs(d.complete_time) }];
  });
}

/** One sample of a segment, in the trace printed at the end. */
export function addSample(trace: Map<string, number[]>, segment: string, ms: number): void {
  (trace.get(segment) ?? trace.set(segment, []).get(segment)!).push(ms);
}
