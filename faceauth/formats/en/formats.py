"""The pages' date formats by name, in English (Django's en / en_GB formats do the rest).

Templates write ``{{ value|date:"DAY_DATETIME_FORMAT" }}``; Django looks the name up here for
the active language (settings.FORMAT_MODULE_PATH), so German pages get German order and dots.
"""

DAY_DATETIME_FORMAT = "D j M Y, H:i"
DAY_DATETIME_SECONDS_FORMAT = "D j M Y, H:i:s"
DAY_MEDIUM_DATETIME_FORMAT = "D d M Y H:i"
DAY_MONTH_TIME_FORMAT = "D j M, H:i"
DAY_MONTH_FORMAT = "D j M"
DAY_DATE_FORMAT = "D j M Y"
MONTH_DAY_TIME_FORMAT = "j M H:i"
MEDIUM_DATETIME_FORMAT = "d M Y H:i"
MEDIUM_DATE_TIME_FORMAT = "j M Y, H:i"
MEDIUM_DATE_FORMAT = "j M Y"
PADDED_DATE_FORMAT = "d M Y"
LONG_DATE_FORMAT = "j F Y"
