import type { Pool } from '../store/pool.js';

// Statistics answered from the read models (migration 005). A period is [from, to) by
// received_at; `as_of` answers as the service knew it then: periods end at as_of, and a
// bucket it cuts in two is completed from the finer read model and the events themselves.

export interface Period {
  from: string;
  to: string;
  as_of?: string;
}

export type Granularity = 'hour' | 'day';

/** Where the answer's period really ends: `to`, or `as_of` when earlier. */
export const periodEnd = (p: Period): string => (p.as_of && Date.parse(p.as_of) < Date.parse(p.to) ? p.as_of : p.to);

export interface CountFilter {
  event_type?: string;
  source?: string;
  category?: string;
}

export interface CountRow {
  bucket: string;
  event_type: string;
  event_source: string;
  event_category: string;
  count: number;
}

export function createStats(pool: Pool) {
  return {
    async eventCounts(p: Period, granularity: Granularity, filter: CountFilter): Promise<CountRow[]> {
      const values: unknown[] = [p.from, periodEnd(p), filter.event_type ?? null, filter.source ?? null, filter.category ?? null];
      const matches = `($3::text IS NULL OR event_type = $3) AND ($4::text IS NULL OR event_source = $4) AND ($5::text IS NULL OR event_category = $5)`;
      const floor = (t: string) => `date_trunc('${granularity}', ${t}, 'UTC')`;
      // The read model of the granularity: its table, its bucket column, and the bucket of a time.
      const [table, column, bucketOf, asTime] =
        granularity === 'hour'
          ? ['event_counts_hourly', 'hour', floor, (c: string) => c]
          : [
              'event_counts_daily',
              'day',
              (t: string) => `(${floor(t)} AT TIME ZONE 'UTC')::date`,
              (c: string) => `(${c}::timestamp AT TIME ZONE 'UTC')`,
            ];
      const res = await pool.query(
        `WITH whole AS (
           SELECT ${asTime(column)} AS bucket, event_type, event_source, event_category, count FROM ${table}
            WHERE ${column} >= ${bucketOf('$1::timestamptz')} AND ${column} < ${bucketOf('$2::timestamptz')} AND ${matches}
         ), cut_hours AS (
           -- The whole hours of a day cut by the end of the period.
           SELECT ${floor('$2::timestamptz')} AS bucket, event_type, event_source, event_category, count FROM event_counts_hourly
            WHERE '${granularity}' = 'day' AND hour >= ${floor('$2::timestamptz')} AND hour < date_trunc('hour', $2::timestamptz, 'UTC')
              AND ${matches}
         ), cut_events AS (
           -- The events of the hour cut by the end of the period.
           SELECT ${floor('$2::timestamptz')} AS bucket, event_type, event_source, event_category, count(*) AS count FROM events
            WHERE received_at >= greatest(date_trunc('hour', $2::timestamptz, 'UTC'), ${floor('$1::timestamptz')}) AND received_at < $2::timestamptz AND ${matches}
            GROUP BY 1, 2, 3, 4
         )
         SELECT bucket, event_type, event_source, event_category, sum(count)::bigint AS count
           FROM (SELECT * FROM whole UNION ALL SELECT * FROM cut_hours UNION ALL SELECT * FROM cut_events) all_rows
          GROUP BY 1, 2, 3, 4 HAVING sum(count) > 0 ORDER BY 1, 2, 3, 4`,
        values,
      );
      return res.rows.map((r) => ({
        bucket: r.bucket.toISOString(),
        event_type: r.event_type,
        event_source: r.event_source,
        event_category: r.event_category,
        count: Number(r.count),
      }));
    },

    async activeUsers(p: Period): Promise<{ days: { day: string; active_users: number }[]; distinct_users: number }> {
      const values = [p.from, periodEnd(p)];
      // Whole days from the one holding `from`; the day holding the end counts those seen before it.
      const where = `day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day <= ($2::timestamptz AT TIME ZONE 'UTC')::date
        AND first_seen_at < $2::timestamptz`;
      const [days, distinct] = await Promise.all([
        pool.query(
          `SELECT to_char(day, 'YYYY-MM-DD') AS day, count(*)::int AS n FROM daily_active_users WHERE ${where} GROUP BY day ORDER BY day`,
          values,
        ),
        pool.query(`SELECT count(DISTINCT user_id)::int AS n FROM daily_active_users WHERE ${where}`, values),
      ]);
      return { days: days.rows.map((r) => ({ day: r.day, active_users: r.n })), distinct_users: distinct.rows[0].n };
    },

    /**
     * Sessions that began in the period. As of a time, a session still receiving events then is
     * summarized from its events received by then; the others from their summaries.
     */
    async sessions(p: Period): Promise<{
      sessions: number;
      events: number;
      avg_duration_ms: number | null;
      p50_duration_ms: number | null;
      p95_duration_ms: number | null;
      avg_events: number | null;
    }> {
      const res = await pool.query(
        `WITH began AS (
           SELECT * FROM session_summaries WHERE first_received_at >= $1::timestamptz AND first_received_at < $2::timestamptz
         ), as_then AS (
           SELECT session_id, started_at, ended_at, event_count FROM began WHERE $3::timestamptz IS NULL OR last_received_at <= $3::timestamptz
           UNION ALL
           SELECT e.session_id, min(e.timestamp), max(e.timestamp), count(*)::int FROM events e
             JOIN began b ON b.session_id = e.session_id AND b.last_received_at > $3::timestamptz
            WHERE e.received_at <= $3::timestamptz AND e.session_id IS NOT NULL GROUP BY e.session_id
         ), d AS (SELECT extract(epoch FROM ended_at - started_at) * 1000 AS ms, event_count FROM as_then)
         SELECT count(*)::int AS sessions, coalesce(sum(event_count), 0)::bigint AS events, avg(ms) AS avg_ms,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
                avg(event_count) AS avg_events FROM d`,
        [p.from, periodEnd(p), p.as_of ?? null],
      );
      const r = res.rows[0];
      const num = (v: unknown) => (v === null ? null : Math.round(Number(v) * 100) / 100);
      return {
        sessions: r.sessions,
        events: Number(r.events),
        avg_duration_ms: num(r.avg_ms),
        p50_duration_ms: num(r.p50),
        p95_duration_ms: num(r.p95),
        avg_events: num(r.avg_events),
      };
    },

    /**
     * Users who did steps[0] in the period, then each next step in order, all within `windowMs`
     * of the first. Read from the events through the user + time index.
     */
    async funnel(p: Period, steps: string[], windowMs: number): Promise<{ step: string; users: number }[]> {
      const values: unknown[] = [p.from, periodEnd(p), `${windowMs} milliseconds`, ...steps];
      const ctes = [
        `s1 AS (SELECT user_id, min(received_at) AS t0, min(received_at) AS t FROM events
                 WHERE event_type = $4 AND user_id IS NOT NULL AND received_at >= $1::timestamptz AND received_at < $2::timestamptz GROUP BY user_id)`,
        ...steps.slice(1).map(
          (_, i) => `s${i + 2} AS (
           SELECT s.user_id, s.t0, min(e.received_at) AS t FROM s${i + 1} s JOIN events e ON e.user_id = s.user_id
            WHERE e.event_type = $${i + 5} AND e.received_at > s.t AND e.received_at <= s.t0 + $3::interval AND e.received_at < $2::timestamptz
            GROUP BY s.user_id, s.t0)`,
        ),
      ];
      const counts = steps.map((_, i) => `(SELECT count(*)::int FROM s${i + 1}) AS c${i + 1}`);
      const res = await pool.query(`WITH ${ctes.join(',\n')} SELECT ${counts.join(', ')}`, values);
      return steps.map((step, i) => ({ step, users: res.rows[0][`c${i + 1}`] as number }));
    },
  };
}

export type Stats = ReturnType<typeof createStats>;
