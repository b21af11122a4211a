# The portal's English dates read day first, as its people wrote them before i18n
# ("17 Mar 2026"); other languages keep Django's own formats (Korean: 2026년 3월 17일).
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
TIME_FORMAT = "H:i"
