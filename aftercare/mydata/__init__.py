"""A patient's own data: seeing it, downloading it (PRIV-01), closing the account (PRIV-02)."""
