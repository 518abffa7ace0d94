#!/usr/bin/env python3
"""Export a cluster's Atlas access history as NDJSON, one request after another.

The script a user writes with `requests` to get more than the 20,000 entries one call
returns: it asks for the newest entries of [start, end]; when an answer is full it moves
`end` to the oldest millisecond of that answer and asks again, skipping the entries of that
boundary millisecond it has already written (compared by their JSON). It is the baseline
`cli/bench/export.sh` measures `atlas-logs export` against.

    pip install requests
    MONGODB_ATLAS_CLIENT_ID=... MONGODB_ATLAS_CLIENT_SECRET=... \
      python3 export_baseline.py --base-url http://127.0.0.1:PORT --group-id G \
        --cluster Cluster0 --start MS --end MS --out cluster0.ndjson

Reads the window as Atlas's fake does by default (start and end inclusive, milliseconds,
newest entries first in a capped answer). Stops with an error when one millisecond holds a
full answer's worth of entries, since moving `end` could then never get past it.
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

try:
    import requests
except ImportError:
    sys.exit("export_baseline.py needs the requests library: pip install requests")

N_LOGS = 20_000
ACCEPT = "application/vnd.atlas.2023-01-01+json"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def entry_ms(entry):
    """The entry's time in epoch milliseconds, from its log line's `t.$date`."""
    date = json.loads(entry["logLine"])["t"]["$date"]
    return (datetime.fromisoformat(date) - EPOCH) // timedelta(milliseconds=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="https://cloud.mongodb.com")
    parser.add_argument("--group-id", required=True)
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--start", type=int, required=True, help="epoch milliseconds")
    parser.add_argument("--end", type=int, required=True, help="epoch milliseconds")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    began = time.monotonic()

    session = requests.Session()
    if os.environ.get("MONGODB_ATLAS_PUBLIC_API_KEY"):
        # An API key: HTTP Digest, as requests does it (the challenge learnt on the first call).
        session.auth = requests.auth.HTTPDigestAuth(
            os.environ["MONGODB_ATLAS_PUBLIC_API_KEY"],
            os.environ["MONGODB_ATLAS_PRIVATE_API_KEY"],
        )
    else:
        token = session.post(
            f"{args.base_url}/api/oauth/token",
            auth=(os.environ["MONGODB_ATLAS_CLIENT_ID"], os.environ["MONGODB_ATLAS_CLIENT_SECRET"]),
            data={"grant_type": "client_credentials"},
        )
        token.raise_for_status()
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    session.headers["Accept"] = ACCEPT
    url = f"{args.base_url}/api/atlas/v2/groups/{args.group_id}/dbAccessHistory/clusters/{args.cluster}"

    end = args.end
    boundary_ms = None  # the millisecond the previous full answer ended on
    boundary_seen = set()  # the entries of that millisecond already written
    requests_made = written = 0
    with open(args.out, "w", encoding="utf-8") as out:
        while True:
            response = session.get(url, params={"start": args.start, "end": end, "nLogs": N_LOGS})
            response.raise_for_status()
            requests_made += 1
            entries = response.json()["accessLogs"]
            times = [entry_ms(e) for e in entries]
            for entry, ms in zip(entries, times):
                if ms == boundary_ms and json.dumps(entry, sort_keys=True) in boundary_seen:
                    continue
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
                written += 1
            if len(entries) < N_LOGS:
                break
            oldest = min(times)
            if oldest == end:
                sys.exit(f"more than {N_LOGS} entries at {end} ms: cannot page past them")
            boundary_ms = oldest
            boundary_seen = {
                json.dumps(e, sort_keys=True) for e, ms in zip(entries, times) if ms == oldest
            }
            end = oldest
    print(
        f"{written} entries, {requests_made} requests, {time.monotonic() - began:.2f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
