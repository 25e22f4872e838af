-- macro: shanghai_date(timestamp)
-- description: The Asia/Shanghai calendar day of a timestamp (UTC+8 all year: China keeps no daylight saving time),
--   the day every indicator counts it in.
cast(timezone('UTC', cast({{ timestamp }} as timestamptz)) + interval 8 hour as date)
