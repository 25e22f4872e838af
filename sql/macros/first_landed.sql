-- macro: first_landed(relation, natural_key)
-- description: One row per natural key of a landed dataset: the first landed copy (lowest _ingested_at, then _topic,
--   _partition, _offset), so a record delivered twice counts once and every rebuild keeps the same copy.
select *
from {{ relation }}
qualify row_number() over (
    partition by {{ natural_key }}
    order by _ingested_at, _topic, _partition, _offset
) = 1
