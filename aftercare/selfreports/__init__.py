"""Patients' self-reports: mood entries, questionnaires (instruments as data), their outcomes and charts.

mood.py and checkins.py store submissions exactly once; instruments.py describes every measure;
outcomes.py defines baseline, response and remission; charts.py and history.py draw them;
export.py puts them in the patient's export; views.py serves the pages and the JSON API.
"""
