"""Order availability on PostgreSQL: in-doubt commits, fail-over, the cluster board."""
