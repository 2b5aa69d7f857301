/**
 * Redis's geo distance (haversine on a sphere of 6372797.560856 m) with correctly rounded sin, cos
 * and asin, for the mirror's geo searches (apply-geo.ts).
 *
 * Why not Math.sin/cos/asin: Redis calls the C library's, and V8's differ from glibc's in about 2
 * distances in 100; correctly rounded results (double-double arithmetic) differ from glibc's in 2
 * or 3 in 1000, which is as close as any replica can get, since glibc itself picks an FMA or a plain
 * variant by CPU and two Redis machines already disagree on about 1 distance in 1000.
 */
const EARTH_RADIUS = 6372797.560856;
const D_R = Math.PI / 180;

// ---------------------------------------------------------------------------------------------
// Correctly rounded sin, cos and asin. Results of double-double operations land in dh/dl, which
// keeps the inner loops free of allocations.

let dh = 0;
let dl = 0;

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter

function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = ah + bh;
  const v = s - ah;
  let e = ah - (s - v) + (bh - v);
  const t = al + bl;
  const w = t - al;
  const f = al - (t - w) + (bl - w);
  e += t;
  const h = s + e;
  e = e - (h - s) + f;
  dh = h + e;
  dl = e - (dh - h);
}

function ddMul(ah: number, al: number, bh: number, bl: number): void {
  const p = ah * bh;
  let t = SPLIT * ah;
  const a1 = t - (t - ah);
  const a2 = ah - a1;
  t = SPLIT * bh;
  const b1 = t - (t - bh);
  const b2 = bh - b1;
  const e = a1 * b1 - p + a1 * b2 + a2 * b1 + a2 * b2 + (ah * bl + al * bh);
  dh = p + e;
  dl = e - (dh - p);
}

/** ±1/n! for n = 0..27 as double-doubles, the Taylor coefficients of sin (odd n) and cos (even n). */
const TAYLOR_H = new Float64Array(28);
const TAYLOR_L = new Float64Array(28);
{
  let h = 1;
  let l = 0;
  for (let n = 0; n < 28; n++) {
    if (n > 0) {
      const q = h / n;
      ddMul(q, 0, n, 0);
      ddAdd(h, l, -dh, -dl);
      const r = dh / n;
      h = q + r;
      l = r - (h - q);
    }
    const sign = (n >> 1) & 1 ? -1 : 1;
    TAYLOR_H[n] = sign * h;
    TAYLOR_L[n] = sign * l;
  }
}

/**
 * ZMAX[n]: the largest r^2 for which the series of sin (n odd) or cos (n even) cut after its 1/n!
 * term is off by less than 2^-112, relatively (the first term left out is r^(n+2)/(n+2)!). Small
 * arguments, the common case (nearby points), need few terms.
 */
const ZMAX = new Float64Array(28);
{
  let f = 2;
  for (let m = 2; m <= 29; m++) {
    if (m > 2) f *= m;
    ZMAX[m - 2] = Math.pow(2 ** -112 * f, 1 / Math.floor(m / 2));
  }
}

/** sin (odd = 1) or cos (odd = 0) of r = rh + rl, |r| <= ~pi/4, z = r^2, into dh/dl. */
function taylor(rh: number, rl: number, zh: number, zl: number, odd: number): void {
  let n = odd;
  while (n < 26 + odd && zh > ZMAX[n]!) n += 2;
  let ph = TAYLOR_H[n]!;
  let pl = TAYLOR_L[n]!;
  for (n -= 2; n >= 0; n -= 2) {
    ddMul(ph, pl, zh, zl);
    ddAdd(dh, dl, TAYLOR_H[n]!, TAYLOR_L[n]!);
    ph = dh;
    pl = dl;
  }
  if (odd) ddMul(ph, pl, rh, rl);
  else {
    dh = ph;
    dl = pl;
  }
}

// pi/2 as three doubles, and 2/pi.
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;
const TWO_OVER_PI = 0.6366197723675814;

/** x - k*pi/2 into dh/dl; returns k mod 4. */
function reduce(x: number): number {
  const k = Math.round(x * TWO_OVER_PI);
  if (k === 0) {
    dh = x;
    dl = 0;
    return 0;
  }
  ddMul(k, 0, PIO2_1, 0);
  ddAdd(x, 0, -dh, -dl);
  const h = dh;
  const l = dl;
  ddMul(k, 0, PIO2_2, 0);
  ddAdd(h, l, -dh, -dl);
  ddAdd(dh, dl, -k * PIO2_3, 0);
  return k & 3;
}

/** sin(x) (cos = 0) or cos(x) (cos = 1) into dh/dl, for |x| < 1e5. */
function sinCosDD(x: number, cos: number): void {
  const q = (reduce(x) + cos) & 3;
  const rh = dh;
  const rl = dl;
  ddMul(rh, rl, rh, rl);
  taylor(rh, rl, dh, dl, (q & 1) ^ 1);
  if (q & 2) {
    dh = -dh;
    dl = -dl;
  }
}

// Beyond 1e5 radians only the bounding box of a search wider than the planet needs a cosine, and
// Redis ignores that box at such widths (step 1).
function sin(x: number): number {
  if (x === 0 || !(Math.abs(x) < 1e5)) return Math.sin(x);
  sinCosDD(x, 0);
  return dh;
}

// The last two cosines: a search asks for its centre's latitude, and a box for each point's, again
// and again.
let cosX1 = NaN;
let cosY1 = NaN;
let cosX2 = NaN;
let cosY2 = NaN;

/** cos(x), correctly rounded (also for the search's bounding box, as Redis computes it with cos). */
export function cos(x: number): number {
  if (x === cosX1) return cosY1;
  if (x === cosX2) return cosY2;
  let y: number;
  if (!(Math.abs(x) < 1e5)) y = Math.cos(x);
  else {
    sinCosDD(x, 1);
    y = dh;
  }
  cosX2 = cosX1;
  cosY2 = cosY1;
  cosX1 = x;
  cosY1 = y;
  return y;
}

/** One Newton step on sin from V8's asin, whose error is below an ulp: the error becomes its square. */
function asin(x: number): number {
  const y0 = Math.asin(x);
  if (x === 0 || !(Math.abs(x) < 1)) return y0; // ±0, ±pi/2 (correctly rounded by V8 too), NaN
  const q = reduce(y0);
  const rh = dh;
  const rl = dl;
  ddMul(rh, rl, rh, rl);
  const zh = dh;
  const zl = dl;
  taylor(rh, rl, zh, zl, 1);
  const sh = dh;
  const sl = dl;
  taylor(rh, rl, zh, zl, 0);
  // |y0| < pi/2: q is 0, 1 or 3 (-1).
  const cosH = q === 0 ? dh : q === 1 ? -sh : sh;
  if (q === 0) ddAdd(sh, sl, -x, 0);
  else if (q === 1) ddAdd(dh, dl, -x, 0);
  else ddAdd(-dh, -dl, -x, 0);
  return y0 - (dh + dl) / cosH;
}

/** Redis's haversine (geohashGetDistance, 7.0: no shortcut for equal longitudes), in meters. */
export function geoDistance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const lat1r = lat1 * D_R;
  const lon1r = lon1 * D_R;
  const lat2r = lat2 * D_R;
  const lon2r = lon2 * D_R;
  const u = sin((lat2r - lat1r) / 2);
  const v = sin((lon2r - lon1r) / 2);
  return 2.0 * EARTH_RADIUS * asin(Math.sqrt(u * u + cos(lat1r) * cos(lat2r) * v * v));
}
