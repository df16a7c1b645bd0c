"""Order → notification latency on an open SSE stream, measured while the stack is under load.

Opens GET /notifications/stream for one user, then places N orders one after another (each
waits for its 201), and records, per order, the time from the 201 to the `notification` event
that names the order. Prints `p50_ms p99_ms max_ms count`.
Usage: sse_latency.py GATEWAY_URL TOKEN PRODUCT_ID COUNT
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

gateway, token, product_id, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlparse(gateway)
arrivals = {}
ready = threading.Event()


def listen():
    conn = http.client.HTTPConnection(url.hostname, url.port)
    conn.request("GET", "/notifications/stream", headers={"authorization": f"Bearer {token}"})
    response = conn.getresponse()
    ready.set()
    data = []
    while True:
        line = response.fp.readline()
        if not line:
            return
        line = line.decode().rstrip("\n")
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            payload = json.loads("\n".join(data))
            data = []
            if payload.get("kind") == "order.paid":
                arrivals.setdefault(payload.get("order_id"), time.perf_counter())


threading.Thread(target=listen, daemon=True).start()
ready.wait(5)
time.sleep(0.2)
conn = http.client.HTTPConnection(url.hostname, url.port)
body = json.dumps({"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": "1 rue du Test"})
created = {}
for _ in range(count):
    conn.request("POST", "/orders", body=body, headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    if response.status == 201:
        created[payload["id"]] = time.perf_counter()
    time.sleep(0.02)
# Wait for stragglers long enough to measure a backlog rather than call it missing.
deadline = time.perf_counter() + 60
while time.perf_counter() < deadline and not all(order in arrivals for order in created):
    time.sleep(0.01)
latencies = sorted((arrivals[o] - t) * 1000 for o, t in created.items() if o in arrivals)
missing = len(created) - len(latencies)
if not latencies:
    print("nan nan nan 0 missing=%d" % missing)
else:
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{statistics.median(latencies):.1f} {p99:.1f} {latencies[-1]:.1f} {len(latencies)} missing={missing}")
