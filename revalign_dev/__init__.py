"""Developer and demo tooling: the local Slack, the local runner behind `revalign ask` and
`revalign demo`, and `revalign playground`. Nothing in bot/ or handlers/ imports this package
(the CLI imports it lazily, inside the commands that need it)."""
