"""Assignments, every rule of them: the state machine, records and views, planning from
routing decisions, what agencies and supervisors do to them, and the escalation sweep."""
