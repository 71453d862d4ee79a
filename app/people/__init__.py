"""People administration: the Users and Outbox pages for admins, and everyone's own API tokens."""
