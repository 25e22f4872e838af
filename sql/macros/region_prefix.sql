-- macro: region_prefix(region_code)
-- description: The code prefix a region rolls up by, from the shape of its code (GB/T 2260): XX0000 (a province)
--   → its first 2 digits, XXXX00 (a city) → its first 4, any other (a district) → all 6.
case
    when {{ region_code }} like '__0000' then left({{ region_code }}, 2)
    when {{ region_code }} like '____00' then left({{ region_code }}, 4)
    else {{ region_code }}
end
