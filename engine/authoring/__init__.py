"""Writing profiles: a new snapshot from a template or an earlier one, and facts
imported from a public data table through a declared mapping."""
