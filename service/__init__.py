"""radplain: plain-language explanations of radiology reports, delivered over FHIR."""

__version__ = "0.1.0"
