"""The patient's journal: written reflections and voice notes, private until shared (AC-03)."""
