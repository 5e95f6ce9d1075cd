"""Sessions, the day roster, preparing for a session, and the calendar feed."""
