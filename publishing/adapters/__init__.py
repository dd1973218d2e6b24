"""Platform adapters: the only code that talks HTTP to a platform (see base.py)."""
