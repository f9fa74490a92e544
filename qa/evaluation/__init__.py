"""Scripted evaluation: question files in, predictions, metrics, a report and a calibrated
abstention threshold out. `qa eval` is a thin layer over these modules:

questions.py (read files) -> runner.py (ask, score) -> metrics.py (per question and run)
-> triage.py (why missed) / calibration.py (threshold sweep) -> report.py (HTML, svg.py).
"""
