"""policy-assistant: cited answers from Chinese policy documents."""

__version__ = "0.1.0"
