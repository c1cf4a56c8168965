"""The release-policy engine: pure functions, the clock passed in, no I/O."""
