"""dnibench: what decoupled training (DNI, complete unlock) buys on your hardware."""

__version__ = "0.1.0"
