"""Web push: the clinic's VAPID keys, the devices that receive reminders, and sending to push services."""
