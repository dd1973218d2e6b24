"""Writes on the editorial side, one module per area (HackSoft style `<entity>_<verb>`)."""
