"""Calls: the 112 intake as one pipeline (input → locating → intake → views), the reads it
needs, AML matching, idempotency, and what happens to a call afterwards."""
