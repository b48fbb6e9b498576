import type { ScenarioResult } from './report';

/** Escapes text for SVG (scenario names and notes come from data). */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round upper bound for a linear axis: 1, 2 or 5 times a power of ten at or above `max`. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * power >= max) return m * power;
  return 10 * power;
}

const COLORS = { bar: '#3b6ea8', target: '#c0392b', p50: '#7fb77e', p95: '#f0ad4e', p99: '#d9534f' };

/**
 * A self-contained SVG: achieved throughput per scenario (bars, with the offered rate as a tick and
 * the 200 tasks/s target as a line) beside latency p50/p95/p99 per scenario (grouped bars on a
 * log scale, since a failures run's p99 can be 100 times its p50). No chart library: a few shapes.
 */
export function renderChart(
  results: readonly ScenarioResult[],
  options: { title: string; targetPerS?: number },
): string {
  const ran = results.filter((r) => !r.skipped);
  const width = 1000;
  const height = 460;
  const top = 70;
  const bottom = 390;
  const plotH = bottom - top;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') =>
    out.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  text(width / 2, 24, options.title, 'text-anchor="middle" font-size="16" font-weight="bold"');

  // Left: throughput.
  const lx = 70;
  const lw = 380;
  const target = options.targetPerS ?? 0;
  const maxRate = niceCeiling(
    Math.max(target, ...ran.map((r) => Math.max(r.tasksPerS ?? 0, r.offeredPerS ?? 0))),
  );
  const ly = (v: number) => bottom - (v / maxRate) * plotH;
  text(lx + lw / 2, 50, 'Throughput (completed per second)', 'text-anchor="middle" font-weight="bold"');
  for (let i = 0; i <= 5; i++) {
    const v = (maxRate / 5) * i;
    out.push(
      `<line x1="${lx}" x2="${lx + lw}" y1="${ly(v).toFixed(1)}" y2="${ly(v).toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    text(lx - 6, ly(v) + 4, String(Math.round(v)), 'text-anchor="end" fill="#555"');
  }
  const slot = ran.length ? lw / ran.length : lw;
  ran.forEach((r, i) => {
    const x = lx + i * slot + slot * 0.2;
    const w = slot * 0.6;
    const v = r.tasksPerS ?? 0;
    out.push(
      `<rect x="${x.toFixed(1)}" y="${ly(v).toFixed(1)}" width="${w.toFixed(1)}" height="${(bottom - ly(v)).toFixed(1)}" fill="${COLORS.bar}"><title>${escapeXml(`${r.name}: ${v} /s`)}</title></rect>`,
    );
    text(x + w / 2, ly(v) - 4, v.toFixed(v < 100 ? 1 : 0), 'text-anchor="middle"');
    if (r.offeredPerS !== null) {
      const y = ly(r.offeredPerS).toFixed(1);
      out.push(
        `<line x1="${(x - 4).toFixed(1)}" x2="${(x + w + 4).toFixed(1)}" y1="${y}" y2="${y}" stroke="#222" stroke-dasharray="3 2"/>`,
      );
    }
    text(x + w / 2, bottom + 16, r.name, 'text-anchor="middle"');
  });
  if (target > 0) {
    const y = ly(target).toFixed(1);
    out.push(
      `<line x1="${lx}" x2="${lx + lw}" y1="${y}" y2="${y}" stroke="${COLORS.target}" stroke-width="1.5"/>`,
    );
    text(lx + lw, ly(target) - 4, `target ${target}/s`, `text-anchor="end" fill="${COLORS.target}"`);
  }
  out.push(`<line x1="${lx}" x2="${lx}" y1="${top}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<line x1="${lx}" x2="${lx + lw}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  text(lx, bottom + 40, 'dashed tick: offered rate (browse: queries/s, closed loop)', 'fill="#555"');

  // Right: latency percentiles, log scale.
  const rx = 560;
  const rw = 400;
  const values = ran
    .flatMap((r) => [r.latencyMs.p50, r.latencyMs.p95, r.latencyMs.p99])
    .filter((v): v is number => v !== null && v > 0);
  const lo = 1;
  const hi = 10 ** Math.max(2, Math.ceil(Math.log10(Math.max(10, ...values))));
  const ry = (v: number) =>
    bottom - ((Math.log10(Math.max(lo, v)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  text(rx + rw / 2, 50, 'End-to-end latency (ms, log scale)', 'text-anchor="middle" font-weight="bold"');
  for (let v = lo; v <= hi; v *= 10) {
    out.push(
      `<line x1="${rx}" x2="${rx + rw}" y1="${ry(v).toFixed(1)}" y2="${ry(v).toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    text(rx - 6, ry(v) + 4, String(v), 'text-anchor="end" fill="#555"');
  }
  const rslot = ran.length ? rw / ran.length : rw;
  ran.forEach((r, i) => {
    const group = [
      ['p50', r.latencyMs.p50, COLORS.p50],
      ['p95', r.latencyMs.p95, COLORS.p95],
      ['p99', r.latencyMs.p99, COLORS.p99],
    ] as const;
    const w = (rslot * 0.7) / 3;
    group.forEach(([label, v, color], k) => {
      if (v === null) return;
      const x = rx + i * rslot + rslot * 0.15 + k * w;
      const y = ry(v);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(w - 1).toFixed(1)}" height="${(bottom - y).toFixed(1)}" fill="${color}"><title>${escapeXml(`${r.name} ${label}: ${v} ms`)}</title></rect>`,
      );
    });
    text(rx + i * rslot + rslot / 2, bottom + 16, r.name, 'text-anchor="middle"');
  });
  out.push(`<line x1="${rx}" x2="${rx}" y1="${top}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<line x1="${rx}" x2="${rx + rw}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  (['p50', 'p95', 'p99'] as const).forEach((label, k) => {
    const x = rx + k * 70;
    out.push(`<rect x="${x}" y="${bottom + 30}" width="12" height="12" fill="${COLORS[label]}"/>`);
    text(x + 16, bottom + 40, label);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
