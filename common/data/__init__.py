"""Dataset access: download with retries and checksums, a cache, and offline fallbacks."""
