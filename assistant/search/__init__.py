"""Search: the index (versions, vectors, keyword index), embeddings, BM25 and hybrid retrieval."""
