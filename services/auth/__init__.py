"""The auth service: users, passwords, tokens, login history, signing keys."""
