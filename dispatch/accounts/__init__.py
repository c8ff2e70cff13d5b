"""Accounts: users with roles and agencies, passwords, and the bearer tokens they log in with."""
