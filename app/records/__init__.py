"""Records pages and API: users, accounts (balance and ledger) and promotions, read-only, with search,
keyset pagination and the pending changes to each record."""
