// Watches the lab router (a GoBGP) so a test or benchmark sees the moment a route appears
// at it or leaves it, without polling.
//
// Uses gobgpd's WatchEvent stream with the BEST filter (and init, so the current table
// comes first). Why not a ListPath poll loop: an event arrives within about a millisecond
// of the router's best-path run, and a poll would add up to its interval to every figure
// and load the router it measures. The known limit: WatchEvent reports best-path CHANGES
// only, so a second path for a prefix that already has a better one (the same prefix from
// ExaBGP and GoBGP at once) raises no event, and withdrawing the best of two paths
// reports the other as the new best (withdrawn: false). Benchmarks use a distinct prefix
// per speaker, which keeps every announce and withdraw visible.
import {
  createGobgpClient,
  flowSpecText,
  unpack,
  type Family,
  type GobgpClient,
  type Path,
} from '../../activities/adapters/gobgp-api.js';

export type WatchFamily = 'ipv4' | 'ipv6' | 'ipv4-flowspec' | 'ipv6-flowspec';

export interface RouterEvent {
  /** 'ipv4' | 'ipv6' | 'ipv4-flowspec' | 'ipv6-flowspec', or gobgpd's AFI/SAFI names for anything else. */
  family: WatchFamily | string;
  /** Unicast: the CIDR ("203.0.113.50/32"). FlowSpec: gobgpd's text of the NLRI, as ListPath and `gobgp global rib` show it. */
  prefix: string;
  withdrawn: boolean;
  /** performance.now() when the event arrived. */
  atMs: number;
  /** True for the paths of the initial table dump. */
  initial: boolean;
}

const FAMILIES: Record<WatchFamily, Family> = {
  ipv4: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  ipv6: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
  'ipv4-flowspec': { afi: 'AFI_IP', safi: 'SAFI_FLOW_SPEC_UNICAST' },
  'ipv6-flowspec': { afi: 'AFI_IP6', safi: 'SAFI_FLOW_SPEC_UNICAST' },
};

function familyName(f: Family | null): string {
  if (!f) return 'unknown';
  for (const [name, fam] of Object.entries(FAMILIES)) if (fam.afi === f.afi && fam.safi === f.safi) return name;
  return `${f.afi}/${f.safi}`;
}

/** The text a path's NLRI is known by (see RouterEvent.prefix). */
export function pathPrefix(path: Path): string | null {
  if (!path.nlri) return null;
  const nlri = unpack(path.nlri);
  if (nlri.type === 'IPAddressPrefix') return `${nlri.value.prefix}/${nlri.value.prefix_len}`;
  if (nlri.type === 'FlowSpecNLRI') return flowSpecText(nlri.value.rules);
  return null;
}

/**
 * Streams the router's best-path changes to `onChange`. Resolves once the watch is
 * registered at the router (its initial table dump has arrived), so anything announced
 * after that is seen. `onError` hears about a stream that broke (router gone).
 */
export async function watchRouterRib(
  routerApiEndpoint: string,
  onChange: (ev: RouterEvent) => void,
  opts: { onError?: (err: Error) => void; timeoutMs?: number } = {},
): Promise<{ close(): void }> {
  const client: GobgpClient = createGobgpClient(routerApiEndpoint, { timeoutMs: opts.timeoutMs ?? 5000 });
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const registered = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  let initial = true;
  // gobgpd always sends the initial best-path dump with init set (an empty one for an empty
  // table), and registers the watcher before it: that first message is the go-ahead.
  const watch = client.watchEvent(
    { table: { filters: [{ type: 'BEST', init: true }] } },
    {
      event(ev) {
        const atMs = performance.now();
        for (const path of ev.table?.paths ?? []) {
          const prefix = pathPrefix(path);
          if (prefix === null) continue;
          onChange({ family: familyName(path.family), prefix, withdrawn: path.is_withdraw, atMs, initial });
        }
        if (initial && ev.table) {
          initial = false;
          ready();
        }
      },
      error(err) {
        failed(err);
        opts.onError?.(err);
      },
    },
  );
  const timer = setTimeout(() => failed(new Error(`router at ${routerApiEndpoint} sent no initial table within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
  try {
    await registered;
  } catch (err) {
    watch.cancel();
    client.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    close() {
      watch.cancel();
      client.close();
    },
  };
}

/**
 * Whether the router's global RIB holds `prefix` in `family`. Unicast: the CIDR, matched
 * exactly. FlowSpec: gobgpd's NLRI text (RouterEvent.prefix), or just a destination CIDR
 * to match any rule for that destination.
 */
export async function routerHas(routerApiEndpoint: string, family: WatchFamily, prefix: string): Promise<boolean> {
  const client = createGobgpClient(routerApiEndpoint, { timeoutMs: 5000 });
  try {
    if (family === 'ipv4' || family === 'ipv6') {
      const dests = await client.listPath({ family: FAMILIES[family], prefixes: [{ prefix, type: 'EXACT' }] });
      return dests.some((d) => d.prefix === prefix && d.paths.length > 0);
    }
    // gobgpd refuses a prefix filter on FlowSpec ("route filtering is not supported for this family").
    const dests = await client.listPath({ family: FAMILIES[family] });
    const isCidr = !prefix.startsWith('[');
    return dests.some(
      (d) =>
        d.paths.length > 0 &&
        (isCidr ? d.prefix.startsWith(`[destination: ${prefix}]`) || d.prefix.startsWith(`[destination: ${prefix}/0]`) : d.prefix === prefix),
    );
  } finally {
    client.close();
  }
}
