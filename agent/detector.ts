// Attack detection as a pure state machine, fed samples: an attack starts after
// `confirmSamples` consecutive samples over a threshold, and ends only after the traffic
// stayed under the lower (hysteresis) threshold for `holdDownMs`, so flapping traffic
// makes one incident, not many.
import type { DetectorEvent, TrafficSample } from './runner.js';

export interface DetectorConfig {
  /** Either figure reaching its threshold counts; null never triggers. */
  pps: number | null;
  bps: number | null;
  confirmSamples: number;
  holdDownMs: number;
  /** The attack goes on while traffic stays above this share of the threshold. */
  hysteresis: number;
  /** At most one attack_updated per this many ms. */
  updateEveryMs: number;
}

export const DEFAULT_DETECTOR: Omit<DetectorConfig, 'pps' | 'bps'> = { confirmSamples: 3, holdDownMs: 10_000, hysteresis: 0.7, updateEveryMs: 1000 };

export class Detector {
  private over = 0;
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

  observe(s: TrafficSample): DetectorEvent[] {
    const c = this.config;
    const reaches = (factor: number) => this.reaches(s, factor);
    if (!this.attack) {
      this.over = reaches(1) ? this.over + 1 : 0;
      if (this.over < c.confirmSamples) return [];
      this.over = 0;
      this.attack = { startedMs: s.atMs, belowSinceMs: null, lastUpdateMs: s.atMs };
      return [{ type: 'attack_started', atMs: s.atMs, pps: s.pps, bps: s.bps }];
    }
    const a = this.attack;
    if (reaches(c.hysteresis)) a.belowSinceMs = null;
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
    return [];
  }
}
