"""Accounts, sign-in, invites and the permission table."""
