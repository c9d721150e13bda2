"""PostgreSQL as Django's backend, with a connection health check that needs no round trip.

``DATABASES["default"]["ENGINE"]`` names this package when DATABASE_URL is a PostgreSQL URL
(dkim2web/settings.py).
"""
