// What the benchmarks that trace a request through Temporal share: when a workflow's
// history events happened (the server's clock, this machine's), and a sample added to its
// segment of the trace.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

export const { EventType } = proto.temporal.api.enums.v1;
type EventTypeValue = proto.temporal.api.enums.v1.EventType;

const epochMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN);

/** A workflow's history, fetched once: when its events happened, and its local activities. */
export async function workflowHistory(temporal: Client, workflowId: string) {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return {
    /** When the first event of a type happened (epoch ms), or its nth; NaN when there is none. */
    at(type: EventTypeValue, nth = 0): number {
      return epochMs(events.filter((e) => e.eventType === type)[nth]?.eventTime);
    },
    /** The local activities it ran, from their markers: type, and when each completed (the worker's clock, epoch ms). */
    localActivities(): Array<{ type: string; completedMs: number }> {
      return events.flatMap((e) => {
        const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
        if (e.markerRecordedEventAttributes?.markerName !== 'core_local_activity' || !data) return [];
        const d = JSON.parse(Buffer.from(data).toString()) as { activity_type: string; complete_time: { seconds: number; nanos: number } };
        return [{ type: d.activity_type, completedMs: epochMs(d.complete_time) }];
      });
    },
  };
}

/** One sample of a segment, in the trace printed at the end. */
export function addSample(trace: Map<string, number[]>, segment: string, ms: number): void {
  (trace.get(segment) ?? trace.set(segment, []).get(segment)!).push(ms);
}
