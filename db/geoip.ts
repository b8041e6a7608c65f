// Country address ranges from the GeoIP data set that the npm package
// @ip-location-db/geo-whois-asn-country ships (CC0: RIR delegations joined with each ASN's
// country), one `first,last,CC` line per range with the addresses as integers. Read on
// first use per country and kept: a country's ranges do not change while the process runs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { rangesToPrefixes, subtractPrefixes, type AddrRange } from '../domain/ip-ranges.js';
import { parseAddress, type IpFamily, type Prefix } from '../domain/prefix.js';

const DATA_DIR = dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));
const file = (family: IpFamily) => join(DATA_DIR, `geo-whois-asn-country-ipv${family}-num.csv`);

const cache = new Map<string, AddrRange[]>();
let known: Set<string> | null = null;

/** Every range of the listed countries (ISO 3166-1 alpha-2) in one address family. */
export function countryRanges(countries: readonly string[], family: IpFamily): AddrRange[] {
  const missing = countries.filter((c) => !cache.has(`${family}:${c}`));
  if (missing.length > 0) {
    const found = new Map<string, AddrRange[]>(missing.map((c) => [c, []]));
    for (const line of readFileSync(file(family), 'utf8').split('\n')) {
      const list = found.get(line.slice(line.lastIndexOf(',') + 1));
      if (!list) continue;
      const [first, last] = line.split(',');
      list.push({ family, first: BigInt(first!), last: BigInt(last!) });
    }
    for (const [c, list] of found) cache.set(`${family}:${c}`, list);
  }
  return countries.flatMap((c) => cache.get(`${family}:${c}`)!);
}

/** The fewest prefixes covering the countries' addresses of one family, `exclude` (the allowlist) cut out. */
export function countryPrefixes(countries: readonly string[], family: IpFamily, exclude: readonly Prefix[]): Prefix[] {
  return rangesToPrefixes(subtractPrefixes(countryRanges(countries, family), exclude));
}

/** The country codes the data set knows (so a policy naming an unknown one is refused). */
export function knownCountries(): Set<string> {
  if (!known) {
    known = new Set();
    for (const family of [4, 6] as const) {
      for (const line of readFileSync(file(family), 'utf8').split('\n')) if (line) known.add(line.slice(line.lastIndexOf(',') + 1));
    }
  }
  return known;
}

/** The country of each address (absent: not in the data set), in one pass over the data per family. */
export function countriesOf(addresses: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const family of [4, 6] as const) {
    const wanted = addresses
      .map((a) => ({ a, p: parseAddress(a) }))
      .filter((x): x is { a: string; p: { family: IpFamily; value: bigint } } => x.p?.family === family)
      .sort((x, y) => (x.p.value < y.p.value ? -1 : x.p.value > y.p.value ? 1 : 0));
    if (wanted.length === 0) continue;
    // Both lists ascend: walk them together.
    let i = 0;
    for (const line of readFileSync(file(family), 'utf8').split('\n')) {
      if (i >= wanted.length) break;
      if (!line) continue;
      const [first, last, cc] = line.split(',');
      const lo = BigInt(first!);
      const hi = BigInt(last!);
      while (i < wanted.length && wanted[i]!.p.value < lo) i++;
      while (i < wanted.length && wanted[i]!.p.value <= hi) out.set(wanted[i++]!.a, cc!);
    }
  }
  return out;
}
