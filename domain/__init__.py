"""agentq's rules: statuses, transitions, commands, events, errors. Pure: no I/O, no clock."""
