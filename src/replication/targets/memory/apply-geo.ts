/**
 * Geo searches that store their result: GEOSEARCHSTORE, GEORADIUS / GEORADIUSBYMEMBER ... STORE |
 * STOREDIST. A Redis 7.0 master propagates these verbatim (only GEOADD is rewritten, to ZADD), so a
 * replica, this mirror included, runs the search itself and must find what the master found.
 *
 * Redis 7.0's search (geo.c, geohash.c, geohash_helper.c), step by step, quirks included: the
 * centre's cell at a step estimated from the radius, one step coarser when a neighbour cell does not
 * reach the bounding box, neighbours dropped when the centre cell overlaps the box edge (only from
 * step 2), the nine cells walked as score ranges in a fixed order (a cell equal to the one walked
 * just before is skipped, but never compared with the centre), each candidate decoded to the centre
 * of its 26-step cell and tested with Redis's haversine. Latitude 85.05112878 and longitude 180
 * encode one past the grid (an extra bit), as in C; scores are read as C's (uint64_t) cast reads
 * them on x86-64, so odd scores in a geo set (negative, fractional, inf) place a FROMMEMBER centre
 * where Redis places it. COUNT without ANY sorts by distance, and when it cuts the result Redis
 * picks the members with its own partial quicksort (pqsort.c), which decides between equal
 * distances: ported as is, because any other sort keeps a different member at a tie.
 *
 * Distances: Redis calls the C library's sin, cos and asin. glibc's are not correctly rounded, and
 * glibc picks an FMA or a plain variant of each by CPU, so one Redis binary stores different last
 * bits of a STOREDIST score on different machines (a real 7.0.15 replica forced onto the plain
 * variant differed from its FMA master in about 1 distance in 1000). No replica can match every
 * machine's libm. V8's Math.sin/cos/asin differ from glibc in about 2 distances in 100, so these are
 * correctly rounded instead (double-double arithmetic), which glibc's results are in all but 2 or 3
 * in 1000; asin magnifies such a last bit near the antipode. Everything else is exact: members (short
 * of a point within a last bit of the search's edge) and geohash scores. The price is about 1.5 µs a
 * candidate point, several times Redis's; geo stores are rare writes.
 */
import { float, int, lookup, upper, Unhandled, type Ctx, type Handler } from './context.js';
import { bin } from './dataset.js';
import { cos, geoDistance } from './geo-distance.js';
import { ZSet, type ZEntry } from './zset.js';

const STEP_MAX = 26;
const LAT_MIN = -85.05112878;
const LAT_MAX = 85.05112878;
const LON_MIN = -180;
const LON_MAX = 180;
const EARTH_RADIUS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;
const D_R = Math.PI / 180;
const UNITS: Record<string, number> = { M: 1, KM: 1000, FT: 0.3048, MI: 1609.34 };

// ---------------------------------------------------------------------------------------------
// Geohashes. A hash is up to 64 bits (latitude bits at even positions, longitude at odd), kept as
// a BigInt where C's uint64 arithmetic (wrapping, the bit past the grid) matters; the per-member
// decoding works on two 32-bit halves instead.

interface Hash {
  bits: bigint;
  step: number;
}

interface Area {
  latMin: number;
  latMax: number;
  lonMin: number;
  lonMax: number;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const EVEN = 0x5555555555555555n;
const ODD = 0xaaaaaaaaaaaaaaaan;
const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;

/** The 16 low bits of v spread to the even bit positions of a 32-bit word. */
function spread(v: number): number {
  v = (v | (v << 8)) & 0x00ff00ff;
  v = (v | (v << 4)) & 0x0f0f0f0f;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v;
}

/** The even bits of a 32-bit word packed into 16 bits. */
function squash(v: number): number {
  v &= 0x55555555;
  v = (v | (v >>> 1)) & 0x33333333;
  v = (v | (v >>> 2)) & 0x0f0f0f0f;
  v = (v | (v >>> 4)) & 0x00ff00ff;
  return (v | (v >>> 8)) & 0x0000ffff;
}

function interleave(lat: number, lon: number): bigint {
  const lo = (spread(lat & 0xffff) | (spread(lon & 0xffff) << 1)) >>> 0;
  const hi = (spread(lat >>> 16) | (spread(lon >>> 16) << 1)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A cell's bounds from the 64-bit hash given as halves (geohashDecode). */
function decodeHalves(hi: number, lo: number, step: number): Area {
  const ilat = (squash(lo) | (squash(hi) << 16)) >>> 0;
  const ilon = (squash(lo >>> 1) | (squash(hi >>> 1) << 16)) >>> 0;
  const cells = 2 ** step;
  return {
    latMin: LAT_MIN + (ilat / cells) * (LAT_MAX - LAT_MIN),
    latMax: LAT_MIN + (((ilat + 1) >>> 0) / cells) * (LAT_MAX - LAT_MIN),
    lonMin: LON_MIN + (ilon / cells) * (LON_MAX - LON_MIN),
    lonMax: LON_MIN + (((ilon + 1) >>> 0) / cells) * (LON_MAX - LON_MIN),
  };
}

function decodeHash(h: Hash): Area {
  return decodeHalves(Number(h.bits >> 32n), Number(h.bits & 0xffffffffn), h.step);
}

let hiOut = 0;
let loOut = 0;

/**
 * C's (uint64_t)score as gcc compiles it for x86-64 (cvttsd2si, with the 2^63 adjustment), as two
 * 32-bit halves in hiOut/loOut. Out-of-range values give what the instruction gives, not an error.
 */
function toUint64(x: number): void {
  if (x >= TWO63) {
    const y = x - TWO63;
    if (y >= TWO63) {
      hiOut = 0;
      loOut = 0;
      return;
    }
    hiOut = Math.floor(y / TWO32);
    loOut = y - hiOut * TWO32;
    hiOut += 0x80000000;
    return;
  }
  if (!(x >= -TWO63)) {
    hiOut = 0x80000000;
    loOut = 0;
    return;
  }
  const v = Math.trunc(x);
  const h = Math.floor(v / TWO32);
  loOut = v - h * TWO32;
  hiOut = h < 0 ? h + TWO32 : h;
}

let lonOut = 0;
let latOut = 0;

/** A member's position: the centre of its 26-step cell, clamped (decodeGeohash), in lonOut/latOut. */
function decodeScore(score: number): void {
  toUint64(score);
  const a = decodeHalves(hiOut, loOut, STEP_MAX);
  lonOut = (a.lonMin + a.lonMax) / 2;
  if (lonOut > LON_MAX) lonOut = LON_MAX;
  if (lonOut < LON_MIN) lonOut = LON_MIN;
  latOut = (a.latMin + a.latMax) / 2;
  if (latOut > LAT_MAX) latOut = LAT_MAX;
  if (latOut < LAT_MIN) latOut = LAT_MIN;
}

function encode(lon: number, lat: number, step: number): Hash {
  const cells = 2 ** step;
  const latOffset = ((lat - LAT_MIN) / (LAT_MAX - LAT_MIN)) * cells;
  const lonOffset = ((lon - LON_MIN) / (LON_MAX - LON_MIN)) * cells;
  return { bits: interleave(Math.trunc(latOffset), Math.trunc(lonOffset)), step };
}

/** geohash_move_x (longitude, odd bits) or geohash_move_y (latitude, even bits) by one cell. */
function move(h: Hash, d: 1 | -1, lon: boolean): Hash {
  const shift = BigInt(64 - h.step * 2);
  const [mine, other] = lon ? [ODD, EVEN] : [EVEN, ODD];
  let v = h.bits & mine;
  const keep = h.bits & other;
  const zz = other >> shift;
  if (d > 0) v = U64(v + (zz + 1n));
  else v = U64((v | zz) - (zz + 1n));
  return { bits: (v & (mine >> shift)) | keep, step: h.step };
}

/** [min, max) of the scores inside a cell (scoresOfGeoHashBox), as C converts them to doubles. */
function scoreRange(h: Hash): [number, number] {
  const shift = BigInt(52 - h.step * 2);
  return [Number(U64(h.bits << shift)), Number(U64(U64(h.bits + 1n) << shift))];
}

// ---------------------------------------------------------------------------------------------
// The search.

interface Shape {
  lon: number;
  lat: number;
  /** Metres per unit. */
  conversion: number;
  /** Circle when `width` is undefined. */
  radius: number;
  width?: number;
  height?: number;
}

function estimateSteps(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return STEP_MAX;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  return Math.min(Math.max(step, 1), STEP_MAX);
}

/** [minLon, minLat, maxLon, maxLat] (geohashBoundingBox). */
function boundingBox(s: Shape): [number, number, number, number] {
  const circle = s.width === undefined;
  const height = s.conversion * (circle ? s.radius : s.height! / 2);
  const width = s.conversion * (circle ? s.radius : s.width! / 2);
  const latDelta = height / EARTH_RADIUS / D_R;
  const lonDeltaTop = width / EARTH_RADIUS / cos((s.lat + latDelta) * D_R) / D_R;
  const lonDeltaBottom = width / EARTH_RADIUS / cos((s.lat - latDelta) * D_R) / D_R;
  const delta = s.lat < 0 ? lonDeltaBottom : lonDeltaTop;
  return [s.lon - delta, s.lat - latDelta, s.lon + delta, s.lat + latDelta];
}

/** The nine cells to walk, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW); null where dropped. */
function searchCells(s: Shape): (Hash | null)[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(s);
  const radiusMeters =
    (s.width === undefined ? s.radius : Math.sqrt((s.width / 2) * (s.width / 2) + (s.height! / 2) * (s.height! / 2))) * s.conversion;
  let steps = estimateSteps(radiusMeters, s.lat);
  let hash = encode(s.lon, s.lat, steps);
  let n = neighbours(hash);
  if (steps > 1) {
    const north = decodeHash(n.north);
    const south = decodeHash(n.south);
    const east = decodeHash(n.east);
    const west = decodeHash(n.west);
    if (north.latMax < maxLat || south.latMin > minLat || east.lonMax < maxLon || west.lonMin > minLon) {
      steps--;
      hash = encode(s.lon, s.lat, steps);
      n = neighbours(hash);
    }
  }
  const area = decodeHash(hash);
  const cells: (Hash | null)[] = [hash, n.north, n.south, n.east, n.west, n.northEast, n.northWest, n.southEast, n.southWest];
  if (steps >= 2) {
    const drop = (...i: number[]) => i.forEach((j) => (cells[j] = null));
    if (area.latMin < minLat) drop(2, 7, 8);
    if (area.latMax > maxLat) drop(1, 5, 6);
    if (area.lonMin < minLon) drop(4, 8, 6);
    if (area.lonMax > maxLon) drop(3, 7, 5);
  }
  return cells;
}

function neighbours(h: Hash) {
  return {
    east: move(h, 1, true),
    west: move(h, -1, true),
    south: move(h, -1, false),
    north: move(h, 1, false),
    northWest: move(move(h, -1, true), 1, false),
    northEast: move(move(h, 1, true), 1, false),
    southEast: move(move(h, 1, true), -1, false),
    southWest: move(move(h, -1, true), -1, false),
  };
}

interface GeoPoint {
  member: string;
  score: number;
  dist: number;
}

/** The point if it lies in the shape (geoAppendIfWithinShape); NaN distances pass, as in C. */
function within(s: Shape, score: number, member: string): GeoPoint | undefined {
  decodeScore(score);
  const lon = lonOut;
  const lat = latOut;
  let dist: number;
  if (s.width === undefined) {
    dist = geoDistance(s.lon, s.lat, lon, lat);
    if (dist > s.radius * s.conversion) return undefined;
  } else {
    const widthM = s.width * s.conversion;
    const heightM = s.height! * s.conversion;
    const lonDistance = geoDistance(lon, lat, s.lon, lat);
    const latDistance = geoDistance(lon, lat, lon, s.lat);
    if (lonDistance > widthM / 2 || latDistance > heightM / 2) return undefined;
    dist = geoDistance(s.lon, s.lat, lon, lat);
  }
  return { member, score, dist };
}

/** membersOfAllNeighbors: the matches in walk order, stopping at `limit` (ANY) when not 0. */
function collect(z: ZSet, s: Shape, limit: number): GeoPoint[] {
  const cells = searchCells(s);
  const sorted = z.sorted();
  const out: GeoPoint[] = [];
  let last = 0;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i];
    if (!cell) continue;
    const prev = cells[last];
    if (last && prev && cell.bits === prev.bits && cell.step === prev.step) continue;
    if (out.length && limit && out.length >= limit) break;
    const [min, max] = scoreRange(cell);
    if (min < max) {
      for (let j = z.lowerBound(['', min]); j < sorted.length; j++) {
        const [member, score] = sorted[j]!;
        if (!(score < max)) break;
        const p = within(s, score, member);
        if (p) out.push(p);
        if (out.length && limit && out.length >= limit) break;
      }
    }
    last = i;
  }
  return out;
}

type Cmp = (a: GeoPoint, b: GeoPoint) => number;

const ascending: Cmp = (a, b) => (a.dist > b.dist ? 1 : a.dist === b.dist ? 0 : -1);
const descending: Cmp = (a, b) => -ascending(a, b);

function swap(a: GeoPoint[], i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function med3(a: GeoPoint[], i: number, j: number, k: number, cmp: Cmp): number {
  return cmp(a[i]!, a[j]!) < 0
    ? cmp(a[j]!, a[k]!) < 0 ? j : cmp(a[i]!, a[k]!) < 0 ? k : i
    : cmp(a[j]!, a[k]!) > 0 ? j : cmp(a[i]!, a[k]!) < 0 ? i : k;
}

/**
 * Redis's pqsort (NetBSD's Bentley-McIlroy qsort that skips partitions outside ranks [lrange,
 * rrange]) on a[lo, lo + n): which of several equally distant members land inside the cut depends
 * on its every swap.
 */
function pqsort(a: GeoPoint[], lo: number, n: number, cmp: Cmp, lrange: number, rrange: number): void {
  for (;;) {
    if (n < 7) {
      for (let m = lo + 1; m < lo + n; m++) for (let l = m; l > lo && cmp(a[l - 1]!, a[l]!) > 0; l--) swap(a, l, l - 1);
      return;
    }
    let pm = lo + Math.floor(n / 2);
    if (n > 7) {
      let pl = lo;
      let pn = lo + n - 1;
      if (n > 40) {
        const d = Math.floor(n / 8);
        pl = med3(a, pl, pl + d, pl + 2 * d, cmp);
        pm = med3(a, pm - d, pm, pm + d, cmp);
        pn = med3(a, pn - 2 * d, pn - d, pn, cmp);
      }
      pm = med3(a, pl, pm, pn, cmp);
    }
    swap(a, lo, pm);
    let pa = lo + 1;
    let pb = pa;
    let pc = lo + n - 1;
    let pd = pc;
    for (;;) {
      let r: number;
      while (pb <= pc && (r = cmp(a[pb]!, a[lo]!)) <= 0) {
        if (r === 0) swap(a, pa++, pb);
        pb++;
      }
      while (pb <= pc && (r = cmp(a[pc]!, a[lo]!)) >= 0) {
        if (r === 0) swap(a, pc, pd--);
        pc--;
      }
      if (pb > pc) break;
      swap(a, pb++, pc--);
    }
    const pn = lo + n;
    let r = Math.min(pa - lo, pb - pa);
    for (let i = 0; i < r; i++) swap(a, lo + i, pb - r + i);
    r = Math.min(pd - pc, pn - pd - 1);
    for (let i = 0; i < r; i++) swap(a, pb + i, pn - r + i);
    r = pb - pa;
    if (r > 1 && !(rrange < lo || lrange > lo + r - 1)) pqsort(a, lo, r, cmp, lrange, rrange);
    r = pd - pc;
    if (r <= 1) return;
    lo = pn - r;
    n = r;
    if (rrange < lo || lrange > lo + r - 1) return;
  }
}

// ---------------------------------------------------------------------------------------------
// The commands.

type Kind = 'coords' | 'member' | 'search';

function unit(b: Buffer | undefined): number {
  const u = UNITS[upper(b)];
  if (u === undefined) throw new Unhandled('a geo unit other than m, km, ft, mi');
  return u;
}

function nonNegative(b: Buffer | undefined): number {
  const v = float(b);
  if (v < 0) throw new Unhandled('a negative geo radius, width or height');
  return v;
}

function memberPosition(z: ZSet, member: Buffer): [number, number] {
  const score = z.score(bin(member));
  if (score === undefined) throw new Unhandled('a geo search from a member the mirror does not have');
  decodeScore(score);
  return [lonOut, latOut];
}

/**
 * georadiusGeneric, for the forms that store:
 *   GEORADIUS key lon lat radius unit [ASC|DESC] [COUNT n [ANY]] STORE|STOREDIST dest
 *   GEORADIUSBYMEMBER key member radius unit ... (the same options)
 *   GEOSEARCHSTORE dest src FROMMEMBER m | FROMLONLAT lon lat  BYRADIUS r unit | BYBOX w h unit
 *                  [ASC|DESC] [COUNT n [ANY]] [STOREDIST]
 */
function geoSearch(kind: Kind): Handler {
  return (c: Ctx, a: Buffer[]) => {
    const src = kind === 'search' ? a[1]! : a[0]!;
    const z = lookup(c, src, 'zset')?.value;
    const shape: Shape = { lon: 0, lat: 0, conversion: 1, radius: 0 };
    let base: number;
    let dest: Buffer | undefined;
    let storedist = false;
    let hasCentre = kind !== 'search';
    let hasShape = kind !== 'search';
    if (kind === 'coords') {
      shape.lon = float(a[1]);
      shape.lat = float(a[2]);
      shape.radius = nonNegative(a[3]);
      shape.conversion = unit(a[4]);
      base = 5;
    } else if (kind === 'member') {
      if (z) {
        [shape.lon, shape.lat] = memberPosition(z, a[1]!);
        shape.radius = nonNegative(a[2]);
        shape.conversion = unit(a[3]);
      }
      base = 4;
    } else {
      dest = a[0];
      base = 2;
    }
    let sort = 0; // 0 none, 1 ASC, 2 DESC
    let any = false;
    let count = 0;
    let withs = false;
    for (let i = base; i < a.length; i++) {
      const o = upper(a[i]);
      const left = a.length - i - 1;
      if (o === 'ANY') any = true;
      else if (o === 'WITHDIST' || o === 'WITHHASH' || o === 'WITHCOORD') withs = true;
      else if (o === 'ASC') sort = 1;
      else if (o === 'DESC') sort = 2;
      else if (o === 'COUNT' && left >= 1) {
        count = int(a[++i]);
        if (count <= 0) throw new Unhandled('COUNT must be > 0');
      } else if ((o === 'STORE' || o === 'STOREDIST') && left >= 1 && kind !== 'search') {
        dest = a[++i];
        storedist = o === 'STOREDIST';
      } else if (o === 'STOREDIST' && kind === 'search') storedist = true;
      else if (o === 'FROMMEMBER' && left >= 1 && kind === 'search') {
        if (z) [shape.lon, shape.lat] = memberPosition(z, a[i + 1]!);
        i++;
        hasCentre = true;
      } else if (o === 'FROMLONLAT' && left >= 2 && kind === 'search') {
        shape.lon = float(a[++i]);
        shape.lat = float(a[++i]);
        hasCentre = true;
      } else if (o === 'BYRADIUS' && left >= 2 && kind === 'search') {
        shape.radius = nonNegative(a[++i]);
        shape.conversion = unit(a[++i]);
        shape.width = shape.height = undefined;
        hasShape = true;
      } else if (o === 'BYBOX' && left >= 3 && kind === 'search') {
        shape.width = nonNegative(a[++i]);
        shape.height = nonNegative(a[++i]);
        shape.conversion = unit(a[++i]);
        hasShape = true;
      } else throw new Unhandled(`geo search option ${o}`);
    }
    if (!hasCentre || !hasShape || (any && !count) || (dest && withs)) throw new Unhandled('a geo search the master refuses');
    if (!dest) return; // a search without STORE writes nothing
    const destKey = bin(dest);
    if (!z) {
      c.db.delete(destKey);
      return;
    }
    if (count !== 0 && sort === 0 && !any) sort = 1;
    const points = collect(z, shape, any ? count : 0);
    const returned = count === 0 || points.length < count ? points.length : count;
    // A full sort only orders what is stored as a whole; a cut decides who is in.
    if (sort !== 0 && returned < points.length) pqsort(points, 0, points.length, sort === 1 ? ascending : descending, 0, returned - 1);
    if (returned === 0) {
      c.db.delete(destKey);
      return;
    }
    const pairs: ZEntry[] = [];
    for (let i = 0; i < returned; i++) {
      const p = points[i]!;
      pairs.push([p.member, storedist ? p.dist / shape.conversion : p.score]);
    }
    const out = new ZSet();
    out.bulkSet(pairs);
    c.db.set(destKey, { type: 'zset', value: out, expiresAt: undefined });
  };
}

export const geoCommands: Record<string, Handler> = {
  GEOSEARCHSTORE: geoSearch('search'),
  GEORADIUS: geoSearch('coords'),
  GEORADIUSBYMEMBER: geoSearch('member'),
};
