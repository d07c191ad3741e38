"""Sample data for `forumsync demo` (list archive, release feed, collectivities…)."""
