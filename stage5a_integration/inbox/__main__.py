"""Run the support inbox: ``python -m stage5a_integration.inbox [--db PATH] [--service-url URL]
[--host 127.0.0.1] [--port 8001] [--allowed-host NAME ...] [--import CSV]``.

Start the classifier service first (``mlcourse serve``). ``--import CSV`` stores and labels the
file's messages and exits; without it the web pages are served. The API key, if the service has
one, is read from ``MLCOURSE_API_KEY`` here too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common.errors import EXIT_OK, EXIT_USAGE
from common.lesson import HelpFormatter, LessonArgumentParser
from common.paths import runs_dir
from stage5a_integration.api import API_KEY_ENV
from stage5a_integration.inbox.app import create_inbox_app, label_pending
from stage5a_integration.inbox.client import ServiceClient
from stage5a_integration.inbox.security import DEFAULT_ALLOWED_HOSTS
from stage5a_integration.inbox.store import InboxStore, read_csv
from stage5a_integration.serve import port_number

SAMPLE_CSV = Path(__file__).with_name("sample_messages.csv")


def build_parser() -> argparse.ArgumentParser:
    parser = LessonArgumentParser(prog="python -m stage5a_integration.inbox",
                                  description=__doc__.splitlines()[0],
                                  formatter_class=HelpFormatter)
    parser.add_argument("--db", type=Path, default=None,
                        help="SQLite file (default: runs/stage5a_integration/inbox/inbox.sqlite3)")
    parser.add_argument("--service-url", default="http://127.0.0.1:8000",
                        help="where the classifier service answers")
    parser.add_argument("--host", default="127.0.0.1", help="address of the inbox's pages")
    parser.add_argument("--port", type=port_number, default=8001, help="port of the inbox's pages")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="also answer under this host name (repeatable; always: "
                             f"{', '.join(DEFAULT_ALLOWED_HOSTS)}); other Host headers get 400")
    parser.add_argument("--text-column", default=None, metavar="COLUMN",
                        help="the text column of imported files, a name or a 0-based position "
                             "(default: one named like text/message, else the longest values)")
    parser.add_argument("--import", dest="import_csv", type=Path, default=None, metavar="CSV",
                        help=f"import and label this CSV, then exit (try {SAMPLE_CSV.name} "
                             "from the package)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db = args.db or runs_dir("stage5a_integration", "inbox") / "inbox.sqlite3"
    store = InboxStore(db)
    client = ServiceClient(args.service_url, api_key=os.environ.get(API_KEY_ENV) or None)
    if args.import_csv is not None:
        try:
            parsed = read_csv(args.import_csv.read_bytes(), name=args.import_csv.name,
                              text_column=args.text_column)
        except (OSError, ValueError) as error:
            print(f"inbox: error: {args.import_csv}: {error}", file=sys.stderr)
            return EXIT_USAGE
        store.add(parsed.messages)
        print(f"{args.import_csv}: {parsed.summary()}; {label_pending(store, client)} ({db})")
        return EXIT_OK
    import uvicorn

    print(f"inbox: http://{args.host}:{args.port} (database {db}, service {args.service_url})")
    hosts = [*DEFAULT_ALLOWED_HOSTS, *args.allowed_host]
    uvicorn.run(create_inbox_app(store, client, allowed_hosts=hosts,
                                 text_column=args.text_column), host=args.host,
                port=args.port)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
