"""The Manager: the store administrator's web UI over every program of the suite, through their clients."""
