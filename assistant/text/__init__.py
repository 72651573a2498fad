"""Text: the vocabulary (jieba, synonyms), personal-data redaction, and their data files."""
