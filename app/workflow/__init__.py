"""The maker-checker workflow: submitting, listing and reviewing actions."""
