"""The explanation engine: pure functions from report text to an Explanation.

Nothing in this package does I/O or imports ``service.fhir``, ``service.api`` or
``service.store``; mapping data comes in as values.
"""
