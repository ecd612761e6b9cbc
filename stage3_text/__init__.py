"""Stage 3: text and tokens, embeddings, word2vec; an SMS spam classifier."""
