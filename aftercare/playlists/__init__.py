"""Music the clinic curates for preparing, for the session room, and for integrating."""
