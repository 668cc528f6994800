"""voice_coach: an offline, hands-free voice coach for back muscle spasms."""

__version__ = "0.1.0"
