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
    return ev?.eventTime ? Number(ev.eventTime.seconds) * 1000 + Math.floor((ev.eventTime.nanos ?? 0) / 1e6) : NaN;
  };
}

/** One sample of a segment, in the trace printed at the end. */
export function addSample(trace: Map<string, number[]>, segment: string, ms: number): void {
  (trace.get(segment) ?? trace.set(segment, []).get(segment)!).push(ms);
}
