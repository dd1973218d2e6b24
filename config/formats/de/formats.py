"""German dates and times: Django's own (24-hour clock, 07.12.2026), named here beside the
English ones so both languages' choices are in one place."""

DATE_FORMAT = "j. F Y"  # 6. Dezember 2026
DATETIME_FORMAT = "j. F Y H:i"
MONTH_DAY_FORMAT = "j. F"  # 30. November
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # 07.12.2026 22:42
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1
