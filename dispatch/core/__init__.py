"""The foundation every other package stands on: settings, the database engine, domain
errors, the event log, NOTIFY, the feed hub, and the few facts shared by all (Earth
radius, agency kinds). It imports nothing from `dispatch`'s domains, `geo`, `agencies`
or `api`; tests/test_layers.py checks that."""
