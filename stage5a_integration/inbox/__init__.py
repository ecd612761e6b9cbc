"""A small support inbox that labels its messages by calling the classifier service over HTTP.

The product side of stage 5a: messages live in SQLite (:mod:`.store`), arrive from a CSV file or
a web form, get their labels from ``POST /predict`` (:mod:`.client`), and are shown on an HTML
page with an analytics view (:mod:`.app`). Run it with ``python -m stage5a_integration.inbox``.
"""
