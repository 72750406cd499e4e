import pkg from 'node-sql-parser';
const { Parser } = pkg;
const p = new Parser();
const opt = { database: 'postgresql' };
for (const q of [
 "SELECT word, count(*) AS n, count(DISTINCT x) FILTER (WHERE x > 1) c, sum(a+1)::bigint FROM words w WHERE a IS NOT NULL AND b LIKE 'x%' GROUP BY word HAVING count(*) > 1",
 "SELECT CASE WHEN a>1 THEN 'x' ELSE 'y' END, CAST(a AS double precision), date_trunc('minute', ts), extract(hour from ts), coalesce(a,b), ts - INTERVAL '5 seconds', upper(s) || 'x' FROM t UNION ALL SELECT 1,2,3,4,5,6,7 FROM u",
 "select * from tumble(t, ts, interval '1' minute)",
]) {
  try { const ast = p.astify(q, opt); console.log(JSON.stringify(ast, null, 0).slice(0, 3000)); } catch (e) { console.log('ERR', e.message); }
}
try { p.astify("SELECT a FROM t WHERE", opt) } catch (e) { console.log(Object.keys(e), e.location, e.message.slice(0,200)) }
