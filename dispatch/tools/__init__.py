"""Programs that are not the running service: the CLI, the demo loader, the migration
helper and the traffic simulator. They drive the domains; no domain imports them."""
