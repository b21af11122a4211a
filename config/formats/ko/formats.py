# Korean dates as Django writes them (2026년 3월 17일), with 24-hour times: on-call work
# reads "14:05", not "오후 2:05", and the English side uses 24-hour times too.
DATE_FORMAT = "Y년 n월 j일"
DATETIME_FORMAT = "Y년 n월 j일 H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "n월 j일"
YEAR_MONTH_FORMAT = "Y년 n월"
TIME_FORMAT = "H:i"
