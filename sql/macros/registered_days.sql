-- macro: registered_days(periods, devices)
-- description: How many counted days of a period (period_start to counted_end) a device was registered on, from
--   installed_on to removed_on (an absent date leaves that end open); 0 outside. The denominator of device-day rates.
greatest(
    date_diff(
        'day',
        greatest({{ periods }}.period_start, coalesce({{ devices }}.installed_on, {{ periods }}.period_start)),
        least({{ periods }}.counted_end, coalesce({{ devices }}.removed_on, {{ periods }}.counted_end))
    ) + 1,
    0
)
