"""The live-operations read model behind the overview, health and journal screens.

All SQL the screens need lives in this package; pages call the snapshot
functions and the actions, and draw what they return.
"""
