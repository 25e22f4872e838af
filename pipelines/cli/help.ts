/**
 * The CLI's usage and every command's --help text. Plain strings, kept apart from the commands: `cityhub --help` and
 * `cityhub <command> --help` load none of the modules a command runs with (pipelines/cli/main.ts loads each
 * command's modules only when that command runs).
 */
export const usage = `cityhub — the data hub of a city's 一网统管 platform

Usage: cityhub <command> [options]

Commands:
  run                run the hub (with no --config: the embedded demo city)
  status             is the hub running, and how: connectors, feeds, lag, marts, dead letters (docs/operations.md)
  query "SQL"        read the marts and the lake's Parquet files (read-only, streamed)
  models run|test    build / test the SQL models
  config check       validate and explain a config file (everything run would reject)
  schemas export     write the JSON Schema of every canonical dataset and catalog
  compact            merge each past lake day's small files into one; apply lake.retention (docs/lake.md)
  bus verify|repair  check the embedded bus for damage / move damage aside (docs/bus.md)
  catalogs check     load every configured catalog and show what it holds and what is wrong (docs/catalogs.md)
  mappings test      show what a source mapping makes of sample payloads, record by record (docs/mappings.md)
  api token          make a bearer token for an upper tier and the config entry granting it (docs/api.md)
  pull               pull the member hubs' aggregates now (a province or national hub; docs/api.md)
  dlq ls|show|replay the lake's dead letters by feed, reason and time; one message in full; replay after a fix

Every command takes --help.`;

const runHelp = `Usage: cityhub run [--config FILE] [--role all|connectors|pipeline|models|api] [--for DURATION]
       cityhub run --demo province [--for DURATION]

Runs the hub. Without --config it runs the embedded demo city (province 330000, seeded simulator).
  --config FILE   YAML or JSON config (see docs/config.md)
  --role ROLE     which roles to run in this process (default all). With bus.type kafka each role can run
                  in its own process (several pipeline processes share the partitions; each process running
                  connectors or the pipeline needs a data_dir of its own); with the embedded bus, run them all
                  in one process. The api role serves the marts to upper tiers over HTTP (api.listen; role all
                  runs it too when api.tokens is not empty; see docs/api.md).
  --for DURATION  run that long (e.g. 60s, 5m), then stop sources, drain the bus into the lake, build the
                  marts, print a per-feed summary and exit 0. Without it, runs until SIGINT/SIGTERM and does the same.
  --demo province the provincial demo (not with --config or --role): three city hubs (杭州, 宁波, 温州) and a
                  province hub pulling them over the tier API, each its own process on free loopback ports, their
                  configs written to ./data/demo-province with fresh tokens. Prints each hub's output under its
                  name, the province's roll-up whenever it changes and curl commands to pull it. SIGINT/SIGTERM
                  (or --for) stops every hub; exits 0 when each ended cleanly, 1 when one did not or died.`;

const queryHelp = `Usage: cityhub query "SQL" [--param NAME=VALUE]… [--format table|csv|json] [--config FILE] [--marts FILE]

Runs a read-only SQL query against the marts (default <data_dir>/marts.duckdb) and streams the result out.
The query may also read the lake's Parquet files (read-only), e.g.
  cityhub query "select count(*) from read_parquet('<lake_dir>/sensor_reading/**/*.parquet')"
Writes (COPY … TO, ATTACH, INSTALL, CREATE, …) and files outside the lake are refused.
With lake.type s3, <lake_dir> is the local mirror of the bucket as the last models build synced it (the copy the
marts were built from; docs/lake.md "S3"): \`cityhub models run\` brings it up to date.
  --param NAME=VALUE  the value of the query's parameter $NAME (repeatable), bound, never spliced into the SQL:
                  cityhub query "select * from mart_hotline where region_code = $region" --param region=330106
  --format table  aligned for a terminal; shows the first 10,000 rows and counts the rest
  --format csv    RFC 4180 with a header row
  --format json   an array of row objects
  --config FILE   the config whose marts and lake are queried: only the keys naming its files are read (data_dir,
                  bus, lake, models.marts_path, models.sql_dir); a config whose other keys are wrong still queries
  --marts FILE    another marts file`;

const modelsHelp = `Usage: cityhub models run [--select MODEL[+]]… [--full-refresh] [--config FILE]
       cityhub models test [--config FILE]
       cityhub models docs [--out FILE] [--config FILE]

  run   (with lake.type s3: first sync the local mirror of the bucket the models read, docs/lake.md "S3")
        build every model in sql/ into a new marts file and run the data tests; swap it in atomically unless a
        test of error severity failed (then the previous marts stay published, each failure is printed, exit 1);
        failed tests of warn severity are printed as WARN and do not stop the swap. Incremental models recompute
        only the lake days whose files changed since the previous build (plus models.lookback_days) and take the
        other days over from the previous marts file; each model's line says how it was built
    --select MODEL    rebuild only MODEL (repeatable); MODEL+ also everything downstream of it; the other tables
                      are copied from the previous marts file
    --full-refresh    ignore the previous marts file: every model from the whole lake
  test  run the data tests against the current marts file (exit 1 when a test of error severity fails)
  docs  write one HTML page documenting every model (description, grain, columns from the marts file, tests,
        lineage) and every indicator (definition, formula, where it lives); default models.html beside the marts
        file (<data_dir>/models.html by default)`;

const configHelp = `Usage: cityhub config check [--config FILE]

Validates the config (without FILE: the built-in demo config) and explains every key with its effective value.
Exits 1 and names each bad key when it is invalid.`;

const schemasHelp = `Usage: cityhub schemas export [--out DIR]

Writes <name>.schema.json for every canonical dataset and reference catalog (default DIR: ./schemas-json).`;

const apiHelp = `Usage: cityhub api token --id ID --regions PREFIX[,PREFIX…] [--indicators CODE[,CODE…]]

  token   makes a new random bearer token for an upper-tier platform and prints it once, with the api.tokens
          entry to put in the hub's config: its id, its SHA-256 (the token itself is stored nowhere), the region
          prefixes it may read (e.g. 33 for a province, 3301 for a city) and its indicators (default *: all).
          Give the token to its holder over a secure channel; they send it as "Authorization: Bearer <token>".
The API itself runs in the api role (cityhub run --role api) or in role all when a token is configured.`;

const busHelp = `Usage: cityhub bus verify [--config FILE]
       cityhub bus repair --partition TOPIC/N [--config FILE]

  verify  check every segment of every partition of the embedded bus (<data_dir>/bus unless bus.dir is set);
          prints one line per problem (file, byte offset, reason, offsets affected) and exits 1 if there is any.
          Safe while the hub runs.
  repair  move the damage of one partition aside into <bus>/<topic>/<N>.quarantine-<offset>.log (nothing is
          deleted) and let the partition continue past every offset the damage held. Stop the hub first.
See docs/bus.md for the recovery procedure.`;

const catalogsHelp = `Usage: cityhub catalogs check [--config FILE]

Loads every reference catalog the config names (without FILE: the built-in demo config) and prints, per catalog,
its source, its entry count and a few telling counts (regions by level, resources by share type, scenarios by
dimension, devices by type). Catalog files may be CSV (UTF-8, UTF-8 with BOM or GB18030), XLSX (first sheet) or
JSON, with Chinese or English headers and values (docs/catalogs.md). Warnings (an unknown column) and errors
(duplicate codes, unknown regions, unknown values, invalid entries: file, line and field each) follow, one line
each. Exits 1 when there is an error.`;

const dlqHelp = `Usage: cityhub dlq ls [--feed FEED] [--reason CODE] [--since DURATION|YYYY-MM-DD] [--limit N]
                      [--format table|csv|json] [--config FILE]
       cityhub dlq show ID [--format table|json] [--config FILE]
       cityhub dlq replay [--feed FEED] [--reason CODE] [--since DURATION|YYYY-MM-DD] [--id ID]… [--dry-run]
                          [--format table|json] [--config FILE]

  ls      the lake's dead letters, newest first: id (<topic>:<partition>:<offset>, the bus message they came from),
          feed, reason_code, records (how many source records it stands for), dead_lettered_at, source, reason;
          then, in table format, the count per feed and reason. --since 1h (a duration back from now) or a day.
  show    every dead letter of one message (its id from ls): reason, coordinates (which record, line or file), and
          the payload as it was on the bus (personal data masked, docs/privacy.md).
  replay  after a mapping or catalog fix: appends the chosen dead letters' messages to their raw topic again, read
          back from the bus as they were (headers cityhub-replay-of and cityhub-replay-id added); the pipeline lands
          them with the config it runs now. Exactly once: a replayed message is never chosen again, and a replay
          interrupted mid-way is finished from the bus by the next one. Each replay is recorded in
          <lake>/_replays/<replay id>.json (what was appended where, what was skipped and why). Skipped: duplicates,
          connector dead letters, messages the bus no longer holds (topics.retention_ms), messages of an earlier
          bus, and messages part of which landed unless their records can go apart (departmental record chunks).
          With the embedded bus, stop the hub first (it holds the bus); over Kafka, replay while it runs.
    --id ID       only this message (repeatable; ids from ls)
    --dry-run     say what would be replayed and skipped; append and record nothing
Reads <lake>/_dlq (for an S3 lake, the local mirror the models role syncs).`;

const mappingsHelp = `Usage: cityhub mappings test --source ID --input FILE [--mapping FILE] [--config FILE]
                             [--encoding utf8|gbk|gb18030] [--header-row N|auto] [--sheet NAME]

Runs every record of FILE through the mapping of source ID — a configured connector's id, or a feed (sensor, video,
hotline, event, dept) — as the hub would: the mapping, the canonical schema, the region catalog, the time range,
the dedupe within the file. Prints, per record, the canonical row(s) it lands as or the dead letter it becomes
(reason, source path, message). The mapping is the hub's choice: the connector's own (connectors[].mapping), else
its feed's (mappings.<feed>), else the built-in one; --mapping FILE tries a file before it is in the config.
Without --config: the built-in demo config.

When ID is a dept-files connector, FILE is read as that connector would deliver it (nothing is sent): the resource
and delivery time its name gives, a file-level problem if any, then each row as a dept_record or a dead letter
against the resource's declared fields, by file line.

FILE is read by its extension: .ndjson/.jsonl (one payload per line), .json (one payload, or an array of them),
.csv or .xlsx (one record per row, keys = the header; --encoding, --header-row, --sheet as for dept-files).
Exits 1 when any record is dead-lettered or the file cannot be read, 0 when every record maps.`;

const pullHelp = `Usage: cityhub pull [--member ID]… [--config FILE]

Pulls the indicator values of the member hubs (federation.members of a province or national hub) now, whatever
their circuit breaker says, and stores them under <data_dir>/federation. Prints one line per member: pulled (the
snapshot and rows), unchanged (its snapshot is the one already pulled) or failed (why; its last good values stay).
Exits 1 when a member failed. The next marts build (cityhub models run, or the running hub's schedule) rolls them up.`;

const statusHelp = `Usage: cityhub status [--config FILE] [--format table|json]

What the hub running on the config's data dir is doing, from the status file it rewrites every 5 s
(<data_dir>/status.json; a process running one role writes status.<role>.json): whether it runs, its connectors
with their state and last error, the pipeline and its last flush, records in / landed / dead-lettered per feed,
bus lag, its last marts build (failed ones included), federation members. Then, read from the data: the lake's
dead letters of the last hour per feed and reason (<lake>/_dlq, as cityhub dlq ls reads it) and the last published
marts build (cityhub_run_log of the marts file).
A hub is not running when its status says it stopped, or the file is over 15 s old while its process is gone and no
process holds the data dir. The same status, live: GET /api/v1/status on metrics.listen (docs/operations.md).
  --format table  for a person (default)
  --format json   { running, problems, processes: [{ file, age_s, running, why, status }], dead_letters_last_hour,
                  marts }
Exit 0 when it printed the status of a running hub with nothing failed; 1 when no hub runs on the data dir or the
status names a problem (a connector failed, landing keeps failing, the last marts build failed).`;

/** `--dataset` lists the canonical datasets: their schemas are loaded for this help only. */
function compactHelp(datasetNames: readonly string[]): string {
  return `Usage: cityhub compact [--config FILE] [--dataset D]… [--day YYYY-MM-DD]… [--dry-run]

Merges each day folder of the lake before today (Asia/Shanghai) holding at least lake.compaction.min_files Parquet
files (default 8) into one file, compacted~<hash>.parquet, with a manifest under _manifests/ listing every original
landed file with its bus coordinates and rows; then removes the day folders older than lake.retention allows
(docs/lake.md "Compaction"). Files a flush journal names are left alone; the pipeline may keep landing meanwhile.
Runs holding the models build lock: waits up to 10 minutes for a build another process runs.
  --config FILE  YAML or JSON config (default: the built-in demo config)
  --dataset D    only this dataset (${datasetNames.join(', ')}), _dlq (the dead letters of every
                 feed) or _dlq/<feed> (repeatable); retention too applies only to those
  --day DAY      only this day (repeatable): compacted whatever its file count (two or more), today included
  --dry-run      print what would be compacted and removed; change nothing`;
}

/** Each command's --help text (compact's names the datasets, from their schemas: loaded when asked for). */
export const help: Record<string, () => string | Promise<string>> = {
  run: () => runHelp,
  query: () => queryHelp,
  models: () => modelsHelp,
  config: () => configHelp,
  compact: async () => compactHelp((await import('../../schemas/index.js')).datasetNames),
  bus: () => busHelp,
  api: () => apiHelp,
  pull: () => pullHelp,
  dlq: () => dlqHelp,
  status: () => statusHelp,
  catalogs: () => catalogsHelp,
  mappings: () => mappingsHelp,
  schemas: () => schemasHelp,
};
