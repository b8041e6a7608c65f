// Attack detection as a pure state machine, fed samples: an attack starts once the
// traffic has stayed over a threshold for `confirmMs` without a break (from the first
// sample over it to one at least that much later, every sample between over it too: a
// matter of time, whatever the sampling rate), and ends only after the traffic stayed
// under the lower (hysteresis) threshold for `holdDownMs`, so flapping traffic makes one
// incident, not many.
import type { DetectorEvent, TrafficSample } from './runner.js';

export interface DetectorConfig {
  /** Either figure reaching its threshold counts; null never triggers. */
  pps: number | null;
  bps: number | null;
  /** How long the traffic must stay over the threshold, without a break, before an attack starts (0: the first sample over it). */
  confirmMs: number;
  holdDownMs: number;
  /** The attack goes on while traffic stays above this share of the threshold. */
  hysteresis: number;
  /** At most one attack_updated per this many ms. */
  updateEveryMs: number;
}

export const DEFAULT_DETECTOR: Omit<DetectorConfig, 'pps' | 'bps'> = { confirmMs: 50, holdDownMs: 10_000, hysteresis: 0.7, updateEveryMs: 1000 };

const NONE: readonly DetectorEvent[] = [];

export class Detector {
  /** When the current unbroken run of samples over the threshold began (sample time). */
  private overSinceMs: number | null = null;
  private attack: { startedMs: number; belowSinceMs: number | null; lastUpdateMs: number } | null = null;

  constructor(private config: DetectorConfig) {}

  configure(config: DetectorConfig): void {
    this.config = config; // the state carries over: an attack in progress stays one attack
  }

  get inAttack(): boolean {
    return this.attack !== null;
  }

  /** The sample reaches `share` of a threshold: traffic near detection (the rolling capture arms on it). */
  near(s: TrafficSample, share = 0.5): boolean {
    return this.reaches(s, share);
  }

  private reaches(s: TrafficSample, factor: number): boolean {
    const c = this.config;
    return (c.pps !== null && s.pps >= c.pps * factor) || (c.bps !== null && s.bps >= c.bps * factor);
  }

  observe(s: TrafficSample): readonly DetectorEvent[] {
    const c = this.config;
    if (!this.attack) {
      if (!this.reaches(s, 1)) {
        this.overSinceMs = null;
        return NONE;
      }
      this.overSinceMs ??= s.atMs;
      if (s.atMs - this.overSinceMs < c.confirmMs) return NONE;
      this.overSinceMs = null;
      this.attack = { startedMs: s.atMs, belowSinceMs: null, lastUpdateMs: s.atMs };
      return [{ type: 'attack_started', atMs: s.atMs, pps: s.pps, bps: s.bps }];
    }
    const a = this.attack;
    if (this.reaches(s, c.hysteresis)) a.belowSinceMs = null;
    else {
      a.belowSinceMs ??= s.atMs;
      if (s.atMs - a.belowSinceMs >= c.holdDownMs) {
        this.attack = null;
        return [{ type: 'attack_ended', atMs: s.atMs }];
      }
    }
    if (s.atMs - a.lastUpdateMs >= c.updateEveryMs) {
      a.lastUpdateMs = s.atMs;
      return [{ type: 'attack_updated', atMs: s.atMs, pps: s.pps, bps: s.bps }];
    }
    return NONE;
  }
}
