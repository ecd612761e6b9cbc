"""Stage 3: text and tokens, embeddings, word2vec; an SMS spam classifier."""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any lesson module imports torch: Ctrl-C then gives one line
