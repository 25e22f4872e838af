-- macro: typed_period_columns()
-- description: The period columns of int_periods (grain, period, its first and last day, is_complete, counted_end:
--   the last day counted, data_cutoff) cast to the types every mart declares, in the order every mart has them.
cast(grain as varchar) as grain,
cast(period as varchar) as period,
cast(period_start as date) as period_start,
cast(period_end as date) as period_end,
cast(is_complete as boolean) as is_complete,
cast(counted_end as date) as counted_end,
cast(data_cutoff as timestamptz) as data_cutoff
