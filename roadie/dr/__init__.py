"""Disaster recovery across regions: DNS failover records, fencing, the standby cluster's
promotion, and the drills that measure them."""
