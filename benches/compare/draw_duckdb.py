"""The bench's draw done with DuckDB, for comparison with `suiji draw` (see benches/README.md).

The same work as draw_polars.py (which says what the draw is), in SQL. The ranking key comes
from DuckDB's own hash of the id (not SHA-256), so the rows drawn differ from suiji's.

    python draw_duckdb.py TARGETS.csv OUT.csv
"""

import sys

import duckdb

QUERY = """
COPY (
  WITH rows AS (
    SELECT * FROM read_csv({src}, all_varchar = true, header = true)
  ), eligible AS (
    SELECT 编号, 名称, 所属区域,
           CASE 风险等级 WHEN 'D' THEN 5.0 WHEN 'C' THEN 3.0 WHEN 'B' THEN 2.0 ELSE 1.0 END AS w,
           ((hash(编号 || '20240102') >> 11)::DOUBLE + 0.5) / 9007199254740992.0 AS u
    FROM rows
    WHERE 状态 = '正常'
      AND NOT (coalesce(上次检查日期, '') >= '2023-07-02' AND coalesce(上次检查结果, '') = '未发现问题')
      AND coalesce(风险等级, '') <> 'A'
  ), sized AS (
    SELECT *, ceil(count(*) OVER (PARTITION BY 所属区域) * 0.05) AS k,
           sum(w) OVER (PARTITION BY 所属区域) AS total
    FROM eligible
  ), keyed AS (
    SELECT *, least(k * w / total, 0.999999) AS p FROM sized
  ), ranked AS (
    SELECT 所属区域, 编号, 名称, u / (1 - u) * (1 - p) / p AS key, k,
           row_number() OVER (PARTITION BY 所属区域 ORDER BY u / (1 - u) * (1 - p) / p) AS r
    FROM keyed
  )
  SELECT 所属区域, 编号, 名称, key FROM ranked WHERE r <= k ORDER BY 所属区域, key
) TO {dst} (HEADER, DELIMITER ',')
"""


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def main(path: str, out: str) -> None:
    con = duckdb.connect()
    con.execute(QUERY.format(src=quote(path), dst=quote(out)))
    n = con.execute(f"SELECT count(*) FROM read_csv({quote(out)})").fetchone()[0]
    print(f"duckdb: {n} drawn")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
