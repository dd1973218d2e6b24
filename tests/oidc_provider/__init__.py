"""A real OpenID Connect provider for tests/accounts/test_oidc.py: django-oauth-toolkit in OIDC mode as a
small Django project of its own, run in a subprocess (tests.oidc_provider.server)."""
