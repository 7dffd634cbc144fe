import { generateInto, parseTimestamp } from '../generator/index.js';
import { judge, median, type Sensitivity, type Thresholds } from '../operator/health/judge.js';

/**
 * `npm run bench -- health [impressions] [days]`: the false-alarm rate of the traffic anomaly
 * judge on the generator's normal traffic. The generator's impressions (default 2M over 7 days, its
 * event times taken as arrival times) are binned per minute and replayed through operator/health's
 * judge every minute with the default thresholds — the rolling baseline until three previous days
 * exist, the same-time-on-previous-days baseline after — and once more with a daily cycle laid on
 * top (a day peak 4× the night), where the seasonal baseline earns its keep. Every TrafficDrop or
 * TrafficSpike verdict on this traffic is a false alarm. Ends with one JSON line.
 */
const impressions = Number(process.argv[3] ?? 2_000_000);
const days = Number(process.argv[4] ?? 7);
const MINUTE = 60_000;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

const perMinute = new Float64Array(days * 24 * 60);
let start = -1;
generateInto(
  { seed: 7, impressions, hours: days * 24, edgeCases: false },
  {
    bidRequest: () => undefined,
    click: () => undefined,
    conversion: () => undefined,
    impression: (text) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      for (const record of Array.isArray(parsed) ? parsed : [parsed]) {
        const ts = parseTimestamp((record as { ts?: unknown } | null)?.ts);
        if (ts === undefined) continue;
        if (start < 0) start = ts - (ts % (24 * 60 * MINUTE));
        const minute = Math.floor((ts - start) / MINUTE);
        if (minute >= 0 && minute < perMinute.length) perMinute[minute]! += 1;
      }
    },
  },
);

/** A daily cycle: night at a quarter of the day's peak (the shape ad traffic has). */
function daily(counts: Float64Array): Float64Array {
  const shaped = new Float64Array(counts.length);
  for (let m = 0; m < counts.length; m++) shaped[m] = counts[m]! * (0.25 + 0.75 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (m % 1440)) / 1440))) * 1.6;
  return shaped;
}

function replay(counts: Float64Array, sensitivity: Sensitivity, useSeasonal: boolean) {
  const thresholds: Thresholds = { maxLag: 100_000, maxStalenessSeconds: 60, maxInvalidRatio: 0.05, sensitivity, windowSeconds: 120, baselineSeconds: 3600 };
  const windowMinutes = thresholds.windowSeconds / 60;
  const baselineMinutes = thresholds.baselineSeconds / 60;
  const rateAt = (m: number) => {
    let sum = 0;
    for (let i = m - windowMinutes + 1; i <= m; i++) sum += counts[i] ?? 0;
    return sum / thresholds.windowSeconds;
  };
  let evaluations = 0;
  let judged = 0;
  const alarms = { TrafficDrop: 0, TrafficSpike: 0 };
  for (let m = windowMinutes + baselineMinutes; m < counts.length; m++) {
    const history: number[] = [];
    for (let b = m - windowMinutes - baselineMinutes + 1; b <= m - windowMinutes; b++) history.push(rateAt(b));
    history.sort((a, b) => a - b);
    const previousDays = useSeasonal ? [1, 2, 3, 4, 5, 6, 7].map((d) => m - d * 1440).filter((p) => p >= windowMinutes).map(rateAt) : [];
    const verdict = judge(
      {
        nowSeconds: 0,
        workersScraped: 1,
        newestWorkerStartSeconds: 0,
        lastStoredSeconds: 0,
        lastReadSeconds: 0,
        lag: 0,
        sourceLag: 0,
        sources: { impressions: { inRate: rateAt(m), invalidRate: 0, rollingBaseline: median(history), rollingHigh: history[Math.floor(0.9 * (history.length - 1))], sameTimeOnPreviousDays: previousDays } },
      },
      thresholds,
    );
    evaluations++;
    if (median(history) * thresholds.windowSeconds >= 20) judged++;
    for (const reason of verdict.problems) if (reason === 'TrafficDrop' || reason === 'TrafficSpike') alarms[reason]++;
  }
  return { evaluations, judged, ...alarms, falseAlarmRate: (alarms.TrafficDrop + alarms.TrafficSpike) / evaluations };
}

const total = perMinute.reduce((a, b) => a + b, 0);
say(`generator traffic: ${total} impressions over ${days} days, ${(total / perMinute.length).toFixed(1)} per minute on average`);
const results: Record<string, ReturnType<typeof replay>> = {};
for (const [name, counts] of [['flat (the generator as it is)', perMinute], ['with a daily cycle (night = 1/4 of peak)', daily(perMinute)]] as const) {
  for (const sensitivity of ['Low', 'Medium', 'High'] as const) {
    for (const seasonal of [true, false]) {
      const r = replay(counts, sensitivity, seasonal);
      const key = `${name} / ${sensitivity} / ${seasonal ? 'seasonal+rolling' : 'rolling only'}`;
      results[key] = r;
      say(`${key}: ${r.evaluations} minute-evaluations (${r.judged} with a baseline), ${r.TrafficDrop} drops, ${r.TrafficSpike} spikes → false-alarm rate ${(100 * r.falseAlarmRate).toFixed(3)}%`);
    }
  }
}
say(JSON.stringify({ bench: 'health', impressions: total, days, results }));
