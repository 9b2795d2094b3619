"""Incidents: severity, lifecycle, the open call and its progress reports."""
