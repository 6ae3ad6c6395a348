"""A trace test that never flakes: fetch the trace once it is complete, then assert."""
import json, os, urllib.request

base = os.environ.get("TRACECHECK_URL", "http://127.0.0.1:4318")
trace_id = os.environ["TRACE_ID"]  # the trace your request started (its traceparent)
with urllib.request.urlopen(f"{base}/api/v1/traces/{trace_id}?wait=30s") as answer:
    trace = json.load(answer)  # answered once no parent is missing and spans stopped arriving
names = [span["name"] for span in trace["spans"]]
assert "SELECT users" in names, names
print(f"{trace['span_count']} spans: {', '.join(names)}")
