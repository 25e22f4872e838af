-- macro: period_columns(relation)
-- description: The columns that place a row in its period, read from a relation with int_periods' columns: every
--   period row of a mart carries them in this order.
{{ relation }}.grain,
{{ relation }}.period,
{{ relation }}.period_start,
{{ relation }}.period_end,
{{ relation }}.is_complete,
{{ relation }}.counted_end,
{{ relation }}.data_cutoff
