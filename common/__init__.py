"""The toolkit every stage shares.

Kept import-light on purpose: importing ``common`` must not pull in torch, so the CLI's
``--help``, ``list`` and ``doctor`` start fast and the torch-free runtime stays torch-free.
Import the submodules you need (``from common.training import fit``).
"""
