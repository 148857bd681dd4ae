"""DanceMosaic Studio: music- and text-driven 3D dance generation and editing."""

__version__ = "0.1.0"
