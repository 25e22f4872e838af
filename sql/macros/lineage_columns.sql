-- macro: lineage_columns()
-- description: The lake's lineage columns of a landed row, typed: which source sent it, when it was landed, and its
--   bus coordinates (topic, partition, offset), which trace it back to the landed file's manifest.
cast(_source as varchar) as _source,
cast(_ingested_at as timestamptz) as _ingested_at,
cast(_topic as varchar) as _topic,
cast(_partition as integer) as _partition,
cast(_offset as bigint) as _offset
