"""Prints `p50_ms p99_ms req_per_s statuses` from an oha --output-format json file."""
import json
import sys

data = json.load(open(sys.argv[1]))
percentiles = data["latencyPercentiles"]
codes = ",".join(f"{code}x{count}" for code, count in sorted(data.get("statusCodeDistribution", {}).items()))
print(f'{percentiles["p50"] * 1000:.3f} {percentiles["p99"] * 1000:.3f} {data["summary"]["requestsPerSec"]:.0f} {codes or "none"}')
