"""Serves localstripe (a stateful fake Stripe server) on 127.0.0.1 only, its store in memory.

localstripe's own command binds every interface and pickles its whole store to
/tmp/localstripe.pickle on every write, a file parallel instances would share and tear. Here
each instance keeps its store to itself and is gone with its process.
"""

import argparse
import logging

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    resources.Store.dump_to_disk = lambda self: None
    logging.basicConfig(level=logging.INFO)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
