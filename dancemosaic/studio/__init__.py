"""The web studio (Gradio)."""
