"""A bounded probe workload (database writes and reads, Redis writes, optionally HTTP reads
through the app load balancer) that runs in the background during an experiment."""
