"""ringscope as a Spark job: one day's events in, one Hive partition of run outputs out.

1. The plan. Spark SQL groups the accounts into components: accounts joined on the
   identifiers they share (devices, IPs, cards, addresses; an identifier used by more accounts
   than the hub cap links nobody), labelled by iterative minimum-label propagation. On the
   driver, `ringscope shard plan --components` packs the components into shards and lists each
   shard's reach (the nodes whose every row it must read).
2. Each shard's rows, in Spark SQL: every event table is joined with the reach on each of its ID
   columns; rows sharing a primary key with a kept row come along, and master rows come along
   for the events that refer to them (the rules of crates/ingest/src/select.rs). The rows are
   written as Parquet, one folder per table and shard, in input order.
3. The shards, one Spark task each (`mapInArrow` over the shard numbers): `ringscope shard run`
   reads its Parquet folders and writes its scores. Spark retries a failed task.
4. The merge, on the driver: `ringscope shard merge` checks every shard against the plan and
   writes the run's outputs into <out>/<partition>/, with _SUCCESS last. A shard that failed
   every attempt stops the job first: no merge, no _SUCCESS, and the error names the shard.

The plan, the shard folders and the outputs must be on a filesystem that the driver and every
executor see at the same path (local disk in local mode; a shared mount on a cluster).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

# The node kind each ID column names, per table: crates/ingest/src/select.rs, `id_columns`.
ID_COLUMNS = {
    "accounts": [("account_id", "account")],
    "products": [("product_id", "product"), ("seller_id", "seller")],
    "reviews": [("account_id", "account"), ("product_id", "product"), ("seller_id", "seller")],
    "orders": [
        ("buyer_id", "account"),
        ("seller_id", "seller"),
        ("product_id", "product"),
        ("device_id", "device"),
        ("ip", "ip"),
        ("payment_id", "payment"),
        ("address_id", "address"),
    ],
    "sessions": [("account_id", "account"), ("device_id", "device"), ("ip", "ip")],
    "labels": [("account_id", "account")],
}
PRIMARY_KEY = {
    "accounts": "account_id",
    "products": "product_id",
    "reviews": "review_id",
    "orders": "order_id",
    "labels": "account_id",
}
MASTERS = ("accounts", "products")
# Events, then products, then accounts: the master rows a kept row refers to are kept with it
# (products by product_id; accounts by account, buyer and seller IDs, since a seller is an
# account).
ORDER = ("reviews", "orders", "sessions", "labels", "products", "accounts")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="the day's events: a directory in ringscope's input contract (Parquet tables, Hive-partitioned Parquet or CSV)")
    p.add_argument("--out", required=True, help="root of the output partitions")
    p.add_argument("--partition", required=True, help="Hive partition written under --out, such as dt=2026-12-05")
    p.add_argument("--shards", type=int, required=True)
    p.add_argument("--work", required=True, help="scratch directory for the plan, the shards' events and their scores (replaced if this job made it; refused if it holds other files)")
    p.add_argument("--ringscope", default=shutil.which("ringscope") or "ringscope", help="the ringscope binary, on every executor at this path")
    p.add_argument("--config", help="ringscope TOML config, for the plan, every shard and the merge")
    p.add_argument("--checkpoint", help="checkpoint directory [default: the config's]")
    p.add_argument("--layered", action="store_true", help="exchange each layer's rows between shards instead of giving each shard the rows behind its scores (docs/scale.md)")
    p.add_argument("--master", default=None, help="Spark master when not set by spark-submit, such as local[2,3] (3 attempts per task)")
    return p.parse_args(argv)


def settings(args):
    s = []
    if args.config:
        s += ["--config", os.path.abspath(args.config)]
    if args.checkpoint:
        s += ["--checkpoint", os.path.abspath(args.checkpoint)]
    return s


def run(cmd):
    """Runs a ringscope command on the driver, failing the job with its message."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:3])} failed (exit {r.returncode}): {r.stderr.strip()}")
    return r.stdout


def tables_in(input_dir):
    """The contract's tables in `input_dir` and how Spark reads each."""
    found = {}
    for name in sorted(os.listdir(input_dir)):
        if name.startswith((".", "_")):
            continue
        path = os.path.join(input_dir, name)
        stem, ext = os.path.splitext(name)
        if stem in ID_COLUMNS and ext.lower() == ".csv":
            found[stem] = ("csv", path)
        elif stem in ID_COLUMNS and ext.lower() in (".parquet", ".pq"):
            found[stem] = ("parquet", path)
        elif name in ID_COLUMNS and os.path.isdir(path):
            found[name] = ("parquet", path)
    return found


def read_table(spark, fmt, path):
    from pyspark.sql import functions as F

    if fmt == "csv":
        # Every cell as text, as ringscope reads CSV; its parsers do the rest.
        df = spark.read.option("header", True).option("inferSchema", False).csv(path)
    else:
        df = spark.read.option("mergeSchema", True).parquet(path)
    # Input order: ringscope reads files in path order, rows in file order.
    return df.withColumn("_file", F.input_file_name()).withColumn("_pos", F.monotonically_increasing_id())


# The identifier relations the projection links accounts by, as (table, account column,
# identifier column): graph/src/build.rs builds them from these columns.
IDENTIFIERS = {
    "used_device": [("orders", "buyer_id", "device_id"), ("sessions", "account_id", "device_id")],
    "used_ip": [("orders", "buyer_id", "ip"), ("sessions", "account_id", "ip")],
    "paid_with": [("orders", "buyer_id", "payment_id")],
    "ships_to": [("orders", "buyer_id", "address_id")],
}


def projection_settings(config):
    """`[projection]` identifier relations and hub cap, with ringscope's defaults."""
    section = {}
    if config:
        import tomllib

        with open(config, "rb") as f:
            section = tomllib.load(f).get("projection", {})
    return (
        section.get("identifier_relations", list(IDENTIFIERS)),
        section.get("max_accounts_per_identifier", 50),
    )


def components(spark, args, path):
    """Writes `account_id,component` to `path`: the accounts' connected components over shared
    identifiers under the hub cap, by minimum-label propagation; returns the rounds it took."""
    from pyspark.sql import functions as F

    relations, cap = projection_settings(args.config)
    tables = tables_in(args.input)
    pairs = None
    for relation in relations:
        for table, account, identifier in IDENTIFIERS.get(relation, []):
            if table not in tables:
                continue
            df = read_table(spark, *tables[table])
            if identifier not in df.columns:
                continue
            p = df.select(
                F.trim(F.col(account).cast("string")).alias("account"),
                F.concat(F.lit(relation + ":"), F.trim(F.col(identifier).cast("string"))).alias("ident"),
            ).where(F.col("ident").isNotNull() & (F.col("account") != ""))
            pairs = p if pairs is None else pairs.unionByName(p)
    if pairs is None:
        return 0
    pairs = pairs.distinct()
    users = pairs.groupBy("ident").agg(F.count("*").alias("n"))
    # A hub links nobody; an identifier of one account links nobody either.
    linking = users.where((F.col("n") >= 2) & (F.col("n") <= cap)).select("ident")
    pairs = pairs.join(linking, "ident").localCheckpoint()
    label = pairs.select("account").distinct().withColumn("label", F.col("account")).localCheckpoint()
    rounds = 0
    while True:
        rounds += 1
        by_ident = pairs.join(label, "account").groupBy("ident").agg(F.min("label").alias("l"))
        by_account = pairs.join(by_ident, "ident").groupBy("account").agg(F.min("l").alias("l"))
        nxt = (
            label.join(by_account, "account")
            .select("account", F.least("label", "l").alias("label"))
            .localCheckpoint()
        )
        changed = nxt.join(label.withColumnRenamed("label", "old"), "account").where(
            F.col("label") != F.col("old")
        ).count()
        label = nxt
        if changed == 0:
            break
    label.select(F.col("account").alias("account_id"), F.col("label").alias("component")).coalesce(1).write.mode(
        "overwrite"
    ).option("header", True).csv(path)
    return rounds


def select_shards(spark, args, plan_dir, events_dir):
    """Writes each shard's rows to <events_dir>/<table>/shard=<i>/ and returns the tables."""
    from pyspark.sql import functions as F

    reach = (
        spark.read.option("header", True).csv(os.path.join(plan_dir, "shard=*", "reach.csv"))
        .withColumn("shard", F.regexp_extract(F.input_file_name(), r"shard=(\d+)", 1).cast("int"))
        .cache()
    )
    referenced = None
    tables = tables_in(args.input)

    def ids(df, table, as_master=False):
        """(_row, kind, id) for each ID cell of `df`; a seller counts as its account where the
        row is a reference to the accounts table."""
        cells = [
            F.struct(
                F.lit("account" if as_master and kind == "seller" else kind).alias("kind"),
                F.trim(F.col(column).cast("string")).alias("id"),
            )
            for column, kind in ID_COLUMNS[table]
            if column in df.columns
        ]
        return (
            df.select("_row", F.explode(F.array(*cells)).alias("c"))
            .select("_row", "c.kind", "c.id")
            .where(F.col("id").isNotNull() & (F.col("id") != ""))
        )

    for table in [t for t in ORDER if t in tables]:
        fmt, path = tables[table]
        df = read_table(spark, fmt, path).withColumn("_row", F.monotonically_increasing_id()).cache()
        keys = reach
        if table in MASTERS and referenced is not None:
            keys = reach.unionByName(referenced)
        touched = ids(df, table).join(keys, ["kind", "id"]).select("_row", "shard").distinct()
        pk = PRIMARY_KEY.get(table)
        if pk is not None and pk in df.columns:
            key = df.select("_row", F.trim(F.col(pk).cast("string")).alias("_pk"))
            same = touched.join(key, "_row").select("_pk", "shard").distinct()
            touched = touched.unionByName(key.join(same, "_pk").select("_row", "shard")).distinct()
        kept = df.join(touched, "_row").cache()
        if table != "accounts":
            refs = ids(kept, table, as_master=True).join(kept.select("_row", "shard"), "_row")
            refs = refs.select("kind", "id", "shard")
            refs = refs if referenced is None else referenced.unionByName(refs)
            # Cut the lineage: each later table would otherwise recompute every earlier one.
            referenced = refs.distinct().localCheckpoint()
        (
            kept.repartition("shard")
            .sortWithinPartitions("_file", "_pos")
            .drop("_row", "_file", "_pos")
            .write.mode("overwrite")
            .partitionBy("shard")
            .parquet(os.path.join(events_dir, table))
        )
        kept.unpersist()
        df.unpersist()
    return [t for t in ORDER if t in tables]


def shard_inputs(events_dir, inputs_dir, tables, shards):
    """<inputs_dir>/shard=<i>/<table> → the table's rows of shard i (tables it has rows in)."""
    for i in range(shards):
        own = os.path.join(inputs_dir, f"shard={i}")
        os.makedirs(own, exist_ok=True)
        for table in tables:
            rows = os.path.join(events_dir, table, f"shard={i}")
            if os.path.isdir(rows):
                os.symlink(rows, os.path.join(own, table))


def score_shards(spark, args, plan_dir, inputs_dir, parts_dir, step=None):
    """One task per shard, writing <parts_dir>/shard=<i>/; returns each shard's record
    (shard.json). A layered plan's `step` reads the previous step's rows from
    <parts_dir>/../step=<step - 1>."""
    import pyarrow as pa

    binary, extra = args.ringscope, settings(args)
    os.makedirs(parts_dir, exist_ok=True)
    fail = os.environ.get("RINGSCOPE_SPARK_FAIL_SHARD")

    def score(batches):
        for batch in batches:
            for shard in batch.column("id").to_pylist():
                # Fault injection for the tests: "<shard>" fails every attempt, "<shard>:once"
                # only the first (a marker file tells a retry from the first attempt).
                if fail is not None and fail.split(":")[0] == str(shard):
                    marker = os.path.join(parts_dir, f".failed-{shard}")
                    if not fail.endswith(":once") or not os.path.exists(marker):
                        open(marker, "w").close()
                        raise RuntimeError(f"shard {shard}: RINGSCOPE_SPARK_FAIL_SHARD={fail}")
                out = os.path.join(parts_dir, f"shard={shard}")
                cmd = [binary, "-q", "shard", "run", "--plan", plan_dir, "--shard", str(shard),
                       "--input", os.path.join(inputs_dir, f"shard={shard}"), "--out", out] + extra
                if step is not None:
                    cmd += ["--step", str(step)]
                    if step > 0:
                        cmd += ["--rows", os.path.join(os.path.dirname(parts_dir), f"step={step - 1}")]
                started = time.time()
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    raise RuntimeError(f"shard {shard} failed (exit {r.returncode}): {r.stderr.strip()}")
                with open(os.path.join(out, "shard.json")) as f:
                    rec = json.load(f)
                yield pa.RecordBatch.from_pylist([{
                    "shard": shard, "step": -1 if step is None else step, "nodes": rec["nodes"],
                    "edges": rec["edges"], "scored": rec["scored"], "seconds": time.time() - started,
                }])

    schema = "shard long, step long, nodes long, edges long, scored long, seconds double"
    shards = spark.range(args.shards).repartition(args.shards, "id")
    return [r.asDict() for r in shards.mapInArrow(score, schema).collect()]


def previous_partition(out_root, partition):
    """The latest earlier partition with _SUCCESS, for ring lineage and drift."""
    key, value = partition.split("=", 1)
    earlier = []
    if os.path.isdir(out_root):
        for name in os.listdir(out_root):
            k, _, v = name.partition("=")
            if k == key and v < value and os.path.isfile(os.path.join(out_root, name, "_SUCCESS")):
                earlier.append(v)
    return os.path.join(out_root, f"{key}={max(earlier)}") if earlier else None


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if not re.fullmatch(r"[A-Za-z0-9_]+=[A-Za-z0-9_.:-]+", args.partition):
        raise SystemExit(f"--partition {args.partition!r} is not key=value")
    work = os.path.abspath(args.work)
    # The scratch directory is replaced; one this job did not make is left alone.
    marker = os.path.join(work, ".ringscope-spark-work")
    if os.path.isdir(work) and os.listdir(work) and not os.path.isfile(marker):
        raise SystemExit(f"--work {work} holds files this job did not write; give an empty or new directory")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("ringscope")
    if args.master:
        builder = builder.master(args.master)
        # Spark's default of 200 shuffle partitions is for clusters; spark-submit may set its own.
        builder = builder.config("spark.sql.shuffle.partitions", str(max(2, args.shards)))
    spark = builder.getOrCreate()
    shutil.rmtree(work, ignore_errors=True)
    plan_dir, events_dir = os.path.join(work, "plan"), os.path.join(work, "events")
    inputs_dir, parts_dir = os.path.join(work, "inputs"), os.path.join(work, "parts")
    os.makedirs(parts_dir)
    open(marker, "w").close()
    binary = args.ringscope
    started = time.time()
    labels = os.path.join(work, "components")
    rounds = components(spark, args, labels)
    plan = [binary, "-q", "shard", "plan", "--input", os.path.abspath(args.input),
            "--shards", str(args.shards), "--out", plan_dir] + (["--layered"] if args.layered else [])
    parts = [f for f in os.listdir(labels) if f.endswith(".csv")] if rounds else []
    if parts:
        plan += ["--components", os.path.join(labels, parts[0])]
    grouped = time.time()
    run(plan + settings(args))
    planned = time.time()
    tables = select_shards(spark, args, plan_dir, events_dir)
    shard_inputs(events_dir, inputs_dir, tables, args.shards)
    selected = time.time()
    try:
        if args.layered:
            # One round per layer, and one for the input rows; each reads the last one's rows.
            with open(os.path.join(plan_dir, "plan.json")) as f:
                layers = json.load(f)["hops"]
            records = []
            for step in range(layers + 1):
                step_dir = os.path.join(parts_dir, f"step={step}")
                records += score_shards(spark, args, plan_dir, inputs_dir, step_dir, step)
            parts_dir = step_dir
        else:
            records = score_shards(spark, args, plan_dir, inputs_dir, parts_dir)
    except Exception as e:  # the task's own error, after Spark's retries
        found = re.search(r"shard (\d+)[^\n]*", str(e))
        raise SystemExit(f"ringscope-spark: {found.group(0) if found else e}; no _SUCCESS written")
    scored = time.time()
    out_root = os.path.abspath(args.out)
    out = os.path.join(out_root, args.partition)
    merge = [binary, "-q", "shard", "merge", "--plan", plan_dir, "--parts", parts_dir, "--out", out]
    previous = previous_partition(out_root, args.partition)
    if previous:
        merge += ["--previous-rings", os.path.join(previous, "rings.jsonl")]
    run(merge + settings(args))
    timings = {"components": grouped - started, "plan": planned - grouped, "select": selected - planned,
               "shards": scored - selected, "merge": time.time() - scored}
    print(json.dumps({"out": out, "components_rounds": rounds,
                      "shards": sorted(records, key=lambda r: r["shard"]),
                      "seconds": timings}, indent=1))
    spark.stop()


if __name__ == "__main__":
    main()
