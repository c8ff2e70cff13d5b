"""`dispatch simulate`: realistic 112 call traffic against a running service.

`traffic` is the seeded call model, `client` the HTTP client and log-in, `driver` the open-
and closed-loop driver, `report` the outcome statistics and summary, `command` the CLI."""
