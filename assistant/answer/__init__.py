"""Answers: the pipeline, the conversation, what is asked, grounding, the extractive and model answerers, verification."""
