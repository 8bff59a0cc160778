"""Agency-day partitions: a day (Asia/Ho_Chi_Minh) × an agency from the registry.

Agencies are dynamic partitions, added by the agency registry asset, so a new ministry or
province appears without a code change.
"""

from datetime import date

import dagster as dg

from pipelines.settings import PARTITIONS_START, TIMEZONE_NAME

AGENCY_PARTITIONS = dg.DynamicPartitionsDefinition(name="agency")
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone=TIMEZONE_NAME, end_offset=0)
AGENCY_DAY_PARTITIONS = dg.MultiPartitionsDefinition({"date": DAILY_PARTITIONS, "agency": AGENCY_PARTITIONS})


def agency_day(context) -> tuple[str, date]:
    """The (agency code, day) of the partition a run is materializing."""
    keys = context.partition_key.keys_by_dimension
    return keys["agency"], date.fromisoformat(keys["date"])


def agency_day_key(agency_code: str, day: date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"agency": agency_code, "date": day.isoformat()})
