"""The bench's draw done with polars, for comparison with `suiji draw` (see benches/README.md).

The same registry file and the same rules as the bench's widened hotel matter: every category,
deregistered rows excluded, a 6-month cooldown after a clean inspection, class A exempt, one
stratum per district with k = ceil(5% of its size), Pareto order sampling with weights 5/3/2/1
by risk class. The ranking key comes from polars' own hash of the id (not SHA-256), so the rows
drawn differ from suiji's: this is the same amount of work, not the same result.

    python draw_polars.py TARGETS.csv OUT.csv
"""

import sys

import polars as pl

SEED = 20240102
COOLDOWN_FROM = "2023-07-02"  # six months before the issue date 2024-01-02


def main(path: str, out: str) -> None:
    rows = pl.scan_csv(path, infer_schema=False)
    drawn = (
        rows.filter(pl.col("状态") == "正常")
        .filter(
            ~(
                (pl.col("上次检查日期") >= COOLDOWN_FROM)
                & (pl.col("上次检查结果") == "未发现问题")
            )
            | pl.col("上次检查日期").is_null()
        )
        .filter(pl.col("风险等级") != "A")
        .with_columns(
            w=pl.col("风险等级")
            .replace_strict({"D": 5.0, "C": 3.0, "B": 2.0}, default=1.0, return_dtype=pl.Float64),
            u=((pl.col("编号").hash(seed=SEED) % (1 << 53)).cast(pl.Float64) + 0.5) / float(1 << 53),
        )
        .with_columns(
            k=(pl.len().over("所属区域") * 0.05).ceil(),
            total=pl.col("w").sum().over("所属区域"),
        )
        .with_columns(p=(pl.col("k") * pl.col("w") / pl.col("total")).clip(upper_bound=0.999999))
        .with_columns(
            key=pl.col("u") / (1.0 - pl.col("u")) * (1.0 - pl.col("p")) / pl.col("p")
        )
        .filter(pl.col("key").rank("ordinal").over("所属区域") <= pl.col("k"))
        .select("所属区域", "编号", "名称", "key")
        .sort("所属区域", "key")
        .collect()
    )
    drawn.write_csv(out)
    print(f"polars: {drawn.height} drawn")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
