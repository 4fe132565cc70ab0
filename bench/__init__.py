"""`make bench`: IAM call counts, time and memory of the scheduled functions at scale, bulk vs per-user scan."""
