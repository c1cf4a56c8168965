"""radplain's tests. A regular package, not a namespace one: some dependencies (medspacy_quickumls)
install a top-level ``tests`` package into site-packages, which would otherwise shadow this one."""
