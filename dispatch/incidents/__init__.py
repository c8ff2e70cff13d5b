"""Incidents: numbering, opening and routing, changes and closing, views, events, queries."""
