"""English dates and times, one way everywhere: the 24-hour clock (as the calendar's chips and
every German page show it, and as the teams this is for read times) and day-month-year with
the month as a word, so that 07/12 is never read as July. Django's English formats are
American ("Dec. 6, 2026", "10:42 p.m.") and were mixed with the 24-hour chips."""

DATE_FORMAT = "j F Y"  # 6 December 2026
DATETIME_FORMAT = "j F Y, H:i"  # 6 December 2026, 22:42
MONTH_DAY_FORMAT = "j F"  # 30 November
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "j M Y"  # 6 Dec 2026
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 6 Dec 2026, 22:42
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # Monday, as the calendar's weeks
