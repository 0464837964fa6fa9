"""Landing-file partitions: one dynamic partition per history file dropped in the landing folder."""

import dagster as dg

landing_files = dg.DynamicPartitionsDefinition(name="landing_files")
